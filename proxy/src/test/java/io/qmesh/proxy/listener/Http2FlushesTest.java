package io.qmesh.proxy.listener;

import static io.qmesh.proxy.listener.Backends.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.impl.ConnectionBase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Over real sockets: the answers of many streams written in one event-loop turn leave an HTTP/2
 * connection with one flush, not one each; HTTP/1.1 connections keep their own flushes.
 */
class Http2FlushesTest {

  private static final int STREAMS = 20;

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void answersWrittenInOneTurnLeaveAnHttp2ConnectionInOneFlush() throws Exception {
    assertThat(flushesForAnswers(Http2Flushes::consolidate)).isBetween(1, 3);
  }

  @Test
  void withoutItEachAnswerIsFlushedOnItsOwn() throws Exception {
    assertThat(flushesForAnswers(c -> {})).isGreaterThanOrEqualTo(STREAMS);
  }

  @Test
  void http11ConnectionsAreLeftAsTheyAre() throws Exception {
    // Filled on the server's event loop, read by the test's thread.
    List<Boolean> consolidated = new java.util.concurrent.CopyOnWriteArrayList<>();
    HttpServer server =
        await(
            vertx
                .createHttpServer()
                .connectionHandler(
                    c -> {
                      Http2Flushes.consolidate(c);
                      consolidated.add(
                          ((ConnectionBase) c).channel().pipeline().get(Http2Flushes.NAME) != null);
                    })
                .requestHandler(r -> r.response().end("ok"))
                .listen(0, "127.0.0.1"));
    HttpClient client = vertx.createHttpClient();
    String body =
        await(
                client
                    .request(new RequestOptions().setPort(server.actualPort()).setHost("127.0.0.1"))
                    .compose(r -> r.send().compose(resp -> resp.body())))
            .toString();
    assertThat(body).isEqualTo("ok");
    assertThat(consolidated).containsExactly(false);
  }

  /**
   * An h2c server answers {@code STREAMS} requests all at once from a timer (outside any read of
   * its connection, as a proxy relays upstream answers) and counts the flushes that reach the
   * socket from then until the client has every answer.
   */
  private int flushesForAnswers(Consumer<HttpConnection> hook) throws Exception {
    AtomicInteger flushes = new AtomicInteger();
    AtomicInteger counting = new AtomicInteger();
    List<HttpServerRequest> waiting = new ArrayList<>();
    HttpServer server =
        await(
            vertx
                .createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(true))
                .connectionHandler(
                    c -> {
                      hook.accept(c);
                      ((ConnectionBase) c)
                          .channel()
                          .pipeline()
                          .addFirst(
                              new ChannelOutboundHandlerAdapter() {
                                @Override
                                public void flush(ChannelHandlerContext ctx) throws Exception {
                                  if (counting.get() > 0) {
                                    flushes.incrementAndGet();
                                  }
                                  super.flush(ctx);
                                }
                              });
                    })
                .requestHandler(
                    r -> {
                      waiting.add(r);
                      if (waiting.size() == STREAMS) {
                        vertx.setTimer(
                            20,
                            t -> {
                              counting.set(1);
                              waiting.forEach(w -> w.response().end("answer"));
                              counting.set(2);
                            });
                      }
                    })
                .listen(0, "127.0.0.1"));
    HttpClient client =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(false)
                .setHttp2MaxPoolSize(1));
    List<Future<String>> answers = new ArrayList<>();
    for (int i = 0; i < STREAMS; i++) {
      answers.add(
          client
              .request(new RequestOptions().setPort(server.actualPort()).setHost("127.0.0.1"))
              .compose(r -> r.send().compose(resp -> resp.body()))
              .map(Object::toString));
    }
    for (Future<String> a : answers) {
      assertThat(await(a)).isEqualTo("answer");
    }
    assertThat(counting.get()).isEqualTo(2);
    // Every flush from the answers on (the consolidated one runs after the timer's task).
    return flushes.get();
  }
}
