package io.qmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.impl.ContextInternal;
import io.vertx.core.impl.VertxInternal;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link Http1Pool} against a real upstream on 127.0.0.1 that records its connections. */
class Http1PoolTest {

  private Vertx vertx;
  private HttpServer upstream;
  private int port;
  private final Set<HttpConnection> opened = ConcurrentHashMap.newKeySet();
  private final AtomicInteger closed = new AtomicInteger();
  private final AtomicInteger hooked = new AtomicInteger();

  @BeforeEach
  void upstream() throws Exception {
    vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    upstream =
        Backends.await(
            vertx
                .createHttpServer()
                .connectionHandler(
                    c -> {
                      opened.add(c);
                      c.closeHandler(v -> closed.incrementAndGet());
                    })
                .requestHandler(
                    req -> {
                      String answer = "from " + req.remoteAddress().port();
                      if (req.path().equals("/close")) {
                        req.response().putHeader("connection", "close").end(answer);
                      } else if (req.path().equals("/slow")) {
                        vertx.setTimer(100, t -> req.response().end(answer));
                      } else {
                        req.response().end(answer);
                      }
                    })
                .listen(0, "127.0.0.1"));
    port = upstream.actualPort();
  }

  @AfterEach
  void close() throws Exception {
    Backends.await(vertx.close());
  }

  private Http1Pool pool(int maxPerHost, HttpClientOptions options) {
    HttpClient client = vertx.createHttpClient(options.setKeepAlive(true));
    return new Http1Pool(vertx, client, maxPerHost, c -> hooked.incrementAndGet());
  }

  /** A GET on {@code context}'s event loop through the pool: the body the upstream answered. */
  private Future<String> get(Http1Pool pool, Context context, int toPort, String path) {
    Promise<String> body = Promise.promise();
    context.runOnContext(
        v ->
            pool.request(HttpMethod.GET, path, "127.0.0.1", toPort, 2000)
                .compose(HttpClientRequest::send)
                .compose(resp -> resp.body().map(b -> resp.statusCode() + " " + b))
                .onComplete(body));
    return body.future();
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void requestsInTurnShareOneConnection() throws Exception {
    Http1Pool pool = pool(4, new HttpClientOptions());
    Context context = vertx.getOrCreateContext();
    List<String> answers = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      answers.add(await(get(pool, context, port, "/")));
    }
    assertThat(answers).hasSize(5).allMatch(a -> a.equals(answers.get(0)));
    assertThat(answers.get(0)).startsWith("200 from ");
    assertThat(opened).hasSize(1);
    // The client's connection hook (pooled buffers, HTTP/2 flushes) ran on the new connection.
    assertThat(hooked).hasValue(1);
  }

  @Test
  void aHostGetsAtMostMaxPerHostConnectionsAndTheOtherRequestsWait() throws Exception {
    Http1Pool pool = pool(2, new HttpClientOptions());
    Context context = vertx.getOrCreateContext();
    List<Future<String>> all = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      all.add(get(pool, context, port, "/slow"));
    }
    Set<String> from = new java.util.HashSet<>();
    for (Future<String> f : all) {
      String answer = await(f);
      assertThat(answer).startsWith("200 ");
      from.add(answer);
    }
    assertThat(from).hasSize(2);
    assertThat(opened).hasSize(2);
  }

  @Test
  void eachEventLoopHasItsOwnConnections() throws Exception {
    Http1Pool pool = pool(4, new HttpClientOptions());
    // New event-loop contexts take the loops in turn.
    Context one = ((VertxInternal) vertx).createEventLoopContext();
    Context two = ((VertxInternal) vertx).createEventLoopContext();
    assertThat(((ContextInternal) one).nettyEventLoop())
        .isNotSameAs(((ContextInternal) two).nettyEventLoop());
    String a = await(get(pool, one, port, "/"));
    String b = await(get(pool, two, port, "/"));
    assertThat(await(get(pool, one, port, "/"))).isEqualTo(a);
    assertThat(await(get(pool, two, port, "/"))).isEqualTo(b);
    assertThat(a).isNotEqualTo(b);
    assertThat(opened).hasSize(2);
  }

  @Test
  void aConnectionTheUpstreamClosesIsNotUsedAgain() throws Exception {
    Http1Pool pool = pool(1, new HttpClientOptions());
    Context context = vertx.getOrCreateContext();
    String first = await(get(pool, context, port, "/close"));
    String second = await(get(pool, context, port, "/"));
    assertThat(second).startsWith("200 ").isNotEqualTo(first);
    assertThat(opened).hasSize(2);
  }

  @Test
  void anIdleConnectionClosesWhenItsKeepAliveTimePasses() throws Exception {
    Http1Pool pool = pool(4, new HttpClientOptions().setKeepAliveTimeout(1));
    Context context = vertx.getOrCreateContext();
    String first = await(get(pool, context, port, "/"));
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .untilAsserted(
            () -> assertThat(closed).as("the upstream saw the idle connection close").hasValue(1));
    // The next request opens a new connection.
    assertThat(await(get(pool, context, port, "/"))).startsWith("200 ").isNotEqualTo(first);
  }

  @Test
  void aRefusedConnectionFailsItsRequestAndTheNextConnects() throws Exception {
    int refusing;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      refusing = s.getLocalPort();
    }
    Http1Pool pool = pool(1, new HttpClientOptions());
    Context context = vertx.getOrCreateContext();
    assertThatThrownBy(() -> await(get(pool, context, refusing, "/")))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("Connection refused");
    assertThat(await(get(pool, context, port, "/"))).startsWith("200 ");
  }

  @Test
  void aConnectionNotMadeWithinTheTimeoutFailsItsRequest() throws Exception {
    // A listener that accepts nothing, its backlog full: further handshakes get no answer.
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      List<Socket> filling = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          Socket f = new Socket();
          try {
            f.connect(s.getLocalSocketAddress(), 300);
            filling.add(f);
          } catch (java.net.SocketTimeoutException e) {
            f.close();
            break;
          }
        }
        Http1Pool pool = pool(1, new HttpClientOptions());
        Context context = vertx.getOrCreateContext();
        CountDownLatch failed = new CountDownLatch(1);
        List<Throwable> cause = new ArrayList<>();
        long start = System.nanoTime();
        context.runOnContext(
            v ->
                pool.request(HttpMethod.GET, "/", "127.0.0.1", s.getLocalPort(), 300)
                    .onComplete(
                        ar -> {
                          cause.add(ar.cause());
                          failed.countDown();
                        }));
        assertThat(failed.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(cause.get(0)).isInstanceOf(TimeoutException.class);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(250L, 3000L);
      } finally {
        for (Socket f : filling) {
          f.close();
        }
      }
    }
  }

  @Test
  void offAnEventLoopTheCallerUsesTheClientsOwnPool() {
    Http1Pool pool = pool(1, new HttpClientOptions());
    assertThat(pool.request(HttpMethod.GET, "/", "127.0.0.1", port, 0)).isNull();
  }
}
