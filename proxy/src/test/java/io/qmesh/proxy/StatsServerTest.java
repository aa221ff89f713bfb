package io.qmesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Istio's 15090 and 15020 over real sockets: the proxy's metrics, merged with the app's. */
class StatsServerTest {

  private final Vertx vertx = Vertx.vertx();
  private final HttpClient http = HttpClient.newHttpClient();

  @AfterEach
  void stop() throws Exception {
    await(vertx.close());
  }

  private String scrape(int port, String path) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString());
    return r.statusCode() + " " + r.body();
  }

  @Test
  void theMergedPortServesTheProxysMetricsThenTheApps() throws Exception {
    int app =
        await(
                vertx
                    .createHttpServer()
                    .requestHandler(
                        req ->
                            req.response()
                                .setStatusCode(req.path().equals("/q/metrics") ? 200 : 404)
                                .end("app_requests_total 2\n"))
                    .listen(0, "127.0.0.1"))
            .actualPort();
    int merged =
        await(
                StatsServer.listen(
                    vertx,
                    "127.0.0.1",
                    0,
                    () -> "istio_requests_total 1",
                    "http://127.0.0.1:" + app + "/q/metrics"))
            .actualPort();
    int proxyOnly =
        await(StatsServer.listen(vertx, "127.0.0.1", 0, () -> "istio_requests_total 1\n", null))
            .actualPort();

    assertThat(scrape(merged, "/stats/prometheus"))
        .isEqualTo("200 istio_requests_total 1\napp_requests_total 2\n");
    assertThat(scrape(proxyOnly, "/stats/prometheus")).isEqualTo("200 istio_requests_total 1\n");
    assertThat(scrape(proxyOnly, "/other")).startsWith("404");
  }

  @Test
  void anAppThatDoesNotAnswerLeavesTheProxysMetrics() throws Exception {
    int dead;
    try (var s = new java.net.ServerSocket(0)) {
      dead = s.getLocalPort();
    }
    int merged =
        await(
                StatsServer.listen(
                    vertx,
                    "127.0.0.1",
                    0,
                    () -> "istio_requests_total 1\n",
                    "http://127.0.0.1:" + dead + "/metrics"))
            .actualPort();

    assertThat(scrape(merged, "/stats/prometheus")).isEqualTo("200 istio_requests_total 1\n");
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void aScrapeInProgressDoesNotHoldUpTheEventLoop() throws Exception {
    var started = new java.util.concurrent.CountDownLatch(1);
    var mayFinish = new java.util.concurrent.CountDownLatch(1);
    var onEventLoop = new java.util.concurrent.atomic.AtomicBoolean(true);
    int port =
        await(
                StatsServer.listen(
                    vertx,
                    "127.0.0.1",
                    0,
                    () -> {
                      onEventLoop.set(io.vertx.core.Context.isOnEventLoopThread());
                      started.countDown();
                      try {
                        // Every series of a large mesh takes a while; here, until the test says so.
                        mayFinish.await(10, TimeUnit.SECONDS);
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                      }
                      return "istio_requests_total 1\n";
                    },
                    null))
            .actualPort();
    var first =
        http.sendAsync(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/stats/prometheus"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
    // The same server's event loop answers another request meanwhile.
    var other =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/other"))
                .timeout(java.time.Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(other.statusCode()).isEqualTo(404);
    assertThat(first).isNotDone();
    mayFinish.countDown();
    assertThat(first.get(5, TimeUnit.SECONDS).body()).isEqualTo("istio_requests_total 1\n");
    assertThat(onEventLoop).isFalse();
  }
}
