package io.qmesh.proxy.listener;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;
import java.util.Iterator;
import java.util.Map;

/**
 * One attempt's request to an upstream host and its answer, whichever connection carries them: a
 * plaintext HTTP/1.1 connection of this event loop's pool ({@link Http1Pool}), or a Vert.x client's
 * (TLS, HTTP/2; {@link VertxUpstream}). The request's headers are written into {@link #headers()}
 * before its first write; the answer goes to the {@link Answer} given to {@link #answer}, on the
 * event loop, until the stream ends, fails, is reset or is let go.
 */
interface UpstreamStream {

  /** The request's headers, to fill in before the first write. */
  MultiMap headers();

  /** Whether the connection negotiated HTTP/2 (the authority then travels as :authority). */
  boolean overHttp2();

  /** The HTTP/2 {@code :authority}. */
  void authority(HostAndPort authority);

  boolean chunked();

  void chunked(boolean chunked);

  /**
   * The request closes its connection once answered if it is the {@code limit}th on it (a
   * DestinationRule's {@code maxRequestsPerConnection}, HTTP/1.1 only; 0: no limit).
   */
  void limitRequestsPerConnection(int limit);

  /** Sends the head now, before any body (a client expecting {@code 100 Continue} waits). */
  void sendHead();

  void write(Buffer data);

  boolean writeQueueFull();

  /** Called once when the request can take writes again after {@link #writeQueueFull()}. */
  void drainHandler(Runnable drained);

  void end();

  /** Gives up: the answer is not wanted, and the connection is not reused. */
  void reset();

  /**
   * The answer is not wanted, but the request was sent whole: it is read to its end (and the
   * connection reused) without going anywhere.
   */
  void letGo();

  /** Where the answer goes; set once, before the request ends. */
  void answer(Answer answer);

  /** Stops and restarts reading the answer (the client is slower than the upstream). */
  void pauseAnswer();

  void resumeAnswer();

  /** Vert.x's connection, whose TLS session names the peer; null on a pooled one. */
  HttpConnection connection();

  SocketAddress localAddress();

  /** What the upstream answers, in order: the head, the body's chunks, the end, or a failure. */
  interface Answer {

    /** A {@code 100 Continue}, which the client may be waiting for before it sends its body. */
    void continued();

    void head(Head head);

    void chunk(Buffer data);

    /** The answer's end, with its trailers (empty when there are none). */
    void end(MultiMap trailers);

    /** The stream broke: before the head, the attempt failed; after it, the relay did. */
    void failed(Throwable cause);
  }

  /** The answer's status line and headers. */
  interface Head {

    int status();

    /** The reason phrase as received (HTTP/1.1), else null. */
    String reason();

    /** The value of the first header of that name, or null. */
    String header(CharSequence name);

    Iterator<Map.Entry<CharSequence, CharSequence>> headerEntries();

    /** Whether it came over HTTP/2 (its length then does not end the body: a frame does). */
    boolean http2();
  }
}
