package io.qmesh.proxy.listener;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.MultiMap;
import io.vertx.core.VertxException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.impl.headers.HeadersAdaptor;
import io.vertx.core.http.impl.headers.HeadersMultiMap;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.impl.VertxHandler;
import java.net.InetSocketAddress;
import java.util.Iterator;
import java.util.Map;

/**
 * One pooled plaintext HTTP/1.1 connection to an upstream host ({@link Http1Pool}), the handler
 * after Netty's client codec: it carries one {@link Stream} at a time, writes its request as the
 * codec's objects and hands the decoded answer to the stream's {@link UpstreamStream.Answer}. The
 * connection goes back to its host once the answer has been read to its end after the whole request
 * was written, unless either side asked to close it; a {@code 1xx} answer other than {@code 100
 * Continue} is skipped (the final answer follows).
 */
final class Http1Connection extends ChannelInboundHandlerAdapter {

  private static final VertxException CLOSED =
      new VertxException("the upstream connection closed", true);

  private static final MultiMap NO_TRAILERS = new HeadersAdaptor(EmptyHttpHeaders.INSTANCE);

  private final Http1Pool.Host host;
  private Channel channel;
  private Stream stream;
  private boolean keepAlive = true;
  private boolean informational;
  private boolean paused;
  private boolean closed;
  private int requests;
  private long idleUntil;
  private Throwable failure;

  Http1Connection(Http1Pool.Host host) {
    this.host = host;
  }

  /** A stream for a request on this connection, which it holds until the answer's end. */
  Stream stream(HttpMethod method, String uri) {
    Stream s = new Stream(method, uri);
    stream = s;
    return s;
  }

  void idleUntil(long nanos) {
    idleUntil = nanos;
  }

  /** Whether it can take a request: open, and released less than its keep-alive time ago. */
  boolean usable(long now) {
    return !closed && channel.isActive() && now - idleUntil < 0;
  }

  void close() {
    channel.close();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpObject o) || o.decoderResult().isFailure()) {
      failure = msg instanceof HttpObject o ? o.decoderResult().cause() : null;
      ReferenceCountUtil.release(msg);
      channel.close();
      return;
    }
    Stream s = stream;
    if (s == null) {
      // Nothing was asked on this connection: an answer to nothing.
      ReferenceCountUtil.release(msg);
      channel.close();
      return;
    }
    if (msg instanceof HttpResponse head) {
      int status = head.status().code();
      if (status < 200 && status != 101) {
        // Informational: its empty end follows, then the final answer.
        informational = true;
        if (status == 100 && s.answer != null) {
          s.answer.continued();
        }
      } else {
        keepAlive &= HttpUtil.isKeepAlive(head);
        s.head(head);
      }
    }
    if (msg instanceof HttpContent content) {
      boolean last = msg instanceof LastHttpContent;
      if (informational) {
        content.release();
        informational = !last;
        return;
      }
      s.content(content);
      if (last) {
        ended(s);
        s.end(((LastHttpContent) content).trailingHeaders());
      }
    }
  }

  /** The answer is read: the connection is free again, or closes. */
  private void ended(Stream s) {
    stream = null;
    if (paused) {
      paused = false;
      channel.config().setAutoRead(true);
    }
    if (keepAlive && !closed && s.ended) {
      host.released(this);
    } else {
      // Asked to close, or answered before the request was written whole (Envoy resets it).
      channel.close();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    Stream s = stream;
    if (s != null && s.drained != null && channel.isWritable()) {
      Runnable drained = s.drained;
      s.drained = null;
      drained.run();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    closed = true;
    host.evicted(this);
    Stream s = stream;
    stream = null;
    if (s != null) {
      s.fail(failure != null ? failure : CLOSED);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    failure = cause;
    channel.close();
  }

  /** One request and its answer on this connection. */
  final class Stream implements UpstreamStream, UpstreamStream.Head {
    private final io.netty.handler.codec.http.HttpMethod method;
    private final String uri;
    private final HeadersMultiMap headers = HeadersMultiMap.httpHeaders();
    private boolean chunked;
    private boolean headSent;
    boolean ended;
    private Answer answer;
    Runnable drained;
    private HttpResponse head;

    Stream(HttpMethod method, String uri) {
      this.method = method.toNetty();
      this.uri = uri;
    }

    private boolean current() {
      return stream == this;
    }

    @Override
    public MultiMap headers() {
      return headers;
    }

    @Override
    public boolean overHttp2() {
      return false;
    }

    @Override
    public void authority(HostAndPort authority) {
      // HTTP/1.1 names it in the host header.
    }

    @Override
    public boolean chunked() {
      return chunked;
    }

    @Override
    public void chunked(boolean chunked) {
      this.chunked = chunked;
    }

    @Override
    public void limitRequestsPerConnection(int limit) {
      if (limit > 0 && ++requests >= limit) {
        keepAlive = false;
        headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
    }

    private void writeHead(boolean end) {
      headSent = true;
      if (chunked) {
        headers.remove(HttpHeaderNames.CONTENT_LENGTH);
        headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      }
      if (end && !chunked) {
        channel.writeAndFlush(
            new DefaultFullHttpRequest(
                HttpVersion.HTTP_1_1,
                method,
                uri,
                Unpooled.EMPTY_BUFFER,
                headers,
                EmptyHttpHeaders.INSTANCE),
            channel.voidPromise());
      } else {
        channel.write(
            new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, uri, headers),
            channel.voidPromise());
      }
    }

    @Override
    public void sendHead() {
      if (current() && !headSent) {
        writeHead(false);
        channel.flush();
      }
    }

    @Override
    public void write(Buffer data) {
      if (!current() || ended) {
        return;
      }
      if (!headSent) {
        writeHead(false);
      }
      @SuppressWarnings("deprecation")
      var bytes = data.getByteBuf();
      channel.writeAndFlush(new DefaultHttpContent(bytes), channel.voidPromise());
    }

    @Override
    public boolean writeQueueFull() {
      return !channel.isWritable();
    }

    @Override
    public void drainHandler(Runnable drained) {
      this.drained = drained;
    }

    @Override
    public void end() {
      if (!current() || ended) {
        return;
      }
      ended = true;
      if (!headSent) {
        writeHead(true);
        if (!chunked) {
          return;
        }
      }
      channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT, channel.voidPromise());
    }

    @Override
    public void reset() {
      answer = null;
      if (!current()) {
        return;
      }
      stream = null;
      if (headSent) {
        channel.close();
      } else {
        // Nothing was written: the connection is as good as before.
        host.released(Http1Connection.this);
      }
    }

    @Override
    public void letGo() {
      // The answer is read to its end (channelRead finds no answer to give it to).
      answer = null;
    }

    @Override
    public void answer(Answer answer) {
      this.answer = answer;
    }

    @Override
    public void pauseAnswer() {
      if (current() && !paused) {
        paused = true;
        channel.config().setAutoRead(false);
      }
    }

    @Override
    public void resumeAnswer() {
      if (current() && paused) {
        paused = false;
        channel.config().setAutoRead(true);
      }
    }

    @Override
    public HttpConnection connection() {
      return null;
    }

    @Override
    public SocketAddress localAddress() {
      return SocketAddress.inetSocketAddress((InetSocketAddress) channel.localAddress());
    }

    void head(HttpResponse head) {
      this.head = head;
      if (answer != null) {
        answer.head(this);
      }
    }

    void content(HttpContent content) {
      if (answer == null || !content.content().isReadable()) {
        content.release();
        return;
      }
      // A heap copy (as Vert.x's own client makes): the pooled buffer goes back at once.
      answer.chunk(Buffer.buffer(VertxHandler.safeBuffer(content.content())));
    }

    void end(io.netty.handler.codec.http.HttpHeaders trailers) {
      Answer a = answer;
      answer = null;
      if (a != null) {
        a.end(trailers.isEmpty() ? NO_TRAILERS : new HeadersAdaptor(trailers));
      }
    }

    void fail(Throwable cause) {
      Answer a = answer;
      answer = null;
      if (a != null) {
        a.failed(cause);
      }
    }

    @Override
    public int status() {
      return head.status().code();
    }

    @Override
    public String reason() {
      return head.status().reasonPhrase();
    }

    @Override
    public String header(CharSequence name) {
      return head.headers().get(name);
    }

    @Override
    public Iterator<Map.Entry<CharSequence, CharSequence>> headerEntries() {
      return head.headers().iteratorCharSequence();
    }

    @Override
    public boolean http2() {
      return false;
    }
  }
}
