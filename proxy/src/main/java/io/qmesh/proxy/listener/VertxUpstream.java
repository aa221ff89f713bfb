package io.qmesh.proxy.listener;

import io.vertx.core.AsyncResult;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;
import java.util.Iterator;
import java.util.Map;

/**
 * An attempt on a Vert.x client's connection: TLS (Istio's mutual TLS, origination), HTTP/2, or a
 * request made off an event loop. The answer is handed on until the stream is reset or let go.
 */
final class VertxUpstream implements UpstreamStream, UpstreamStream.Head {

  private final HttpProxy proxy;
  private final HttpClientRequest request;
  private HttpClientResponse response;
  private Answer answer;

  VertxUpstream(HttpProxy proxy, HttpClientRequest request) {
    this.proxy = proxy;
    this.request = request;
  }

  @Override
  public MultiMap headers() {
    return request.headers();
  }

  @Override
  public boolean overHttp2() {
    return request.version() == HttpVersion.HTTP_2;
  }

  @Override
  public void authority(HostAndPort authority) {
    request.authority(authority);
  }

  @Override
  public boolean chunked() {
    return request.isChunked();
  }

  @Override
  public void chunked(boolean chunked) {
    request.setChunked(chunked);
  }

  @Override
  public void limitRequestsPerConnection(int limit) {
    proxy.limitRequestsPerConnection(request, limit);
  }

  @Override
  public void sendHead() {
    request.sendHead();
  }

  @Override
  public void write(Buffer data) {
    request.write(data, null);
  }

  @Override
  public boolean writeQueueFull() {
    return request.writeQueueFull();
  }

  @Override
  public void drainHandler(Runnable drained) {
    request.drainHandler(v -> drained.run());
  }

  @Override
  public void end() {
    request.end((Handler<AsyncResult<Void>>) null);
  }

  @Override
  public void reset() {
    answer = null;
    request.reset();
  }

  @Override
  public void letGo() {
    answer = null;
  }

  @Override
  public void answer(Answer answer) {
    this.answer = answer;
    request.continueHandler(
        v -> {
          if (this.answer != null) {
            this.answer.continued();
          }
        });
    request.response().onComplete(this::answered);
  }

  private void answered(AsyncResult<HttpClientResponse> ar) {
    if (answer == null) {
      return;
    }
    if (ar.failed()) {
      fail(ar.cause());
      return;
    }
    response = ar.result();
    response.handler(
        data -> {
          if (answer != null) {
            answer.chunk(data);
          }
        });
    response.exceptionHandler(this::fail);
    response.endHandler(
        v -> {
          Answer a = answer;
          answer = null;
          if (a != null) {
            a.end(response.trailers());
          }
        });
    answer.head(this);
  }

  private void fail(Throwable cause) {
    Answer a = answer;
    answer = null;
    if (a != null) {
      a.failed(cause);
    }
  }

  @Override
  public void pauseAnswer() {
    response.pause();
  }

  @Override
  public void resumeAnswer() {
    response.resume();
  }

  @Override
  public HttpConnection connection() {
    return request.connection();
  }

  @Override
  public SocketAddress localAddress() {
    return request.connection().localAddress();
  }

  @Override
  public int status() {
    return response.statusCode();
  }

  @Override
  public String reason() {
    return response.statusMessage();
  }

  @Override
  public String header(CharSequence name) {
    return response.getHeader(name);
  }

  @Override
  @SuppressWarnings({"unchecked", "rawtypes"})
  public Iterator<Map.Entry<CharSequence, CharSequence>> headerEntries() {
    // A map's entries are strings, which are char sequences.
    return (Iterator) response.headers().iterator();
  }

  @Override
  public boolean http2() {
    return response.version() == HttpVersion.HTTP_2;
  }
}
