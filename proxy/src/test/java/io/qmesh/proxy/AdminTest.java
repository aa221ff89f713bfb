package io.qmesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The admin endpoint over a real socket: what it renders stays off the event loop. */
class AdminTest {

  private final Vertx vertx = Vertx.vertx();
  private final HttpClient http = HttpClient.newHttpClient();
  private final CountDownLatch dumpStarted = new CountDownLatch(1);
  private final CountDownLatch dumpMayFinish = new CountDownLatch(1);
  private volatile Boolean dumpedOnEventLoop;
  private int port;

  @BeforeEach
  void start() throws Exception {
    Admin.View view =
        new Admin.View() {
          @Override
          public boolean ready() {
            return true;
          }

          @Override
          public Map<String, Object> configDump() {
            dumpedOnEventLoop = io.vertx.core.Context.isOnEventLoopThread();
            dumpStarted.countDown();
            try {
              // A dump of a large config takes a while; here, until the test says so.
              dumpMayFinish.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return Map.of("configs", java.util.List.of());
          }

          @Override
          public ProxyConfig config() {
            return null;
          }

          @Override
          public String prometheus() {
            return "qmesh_up 1\n";
          }
        };
    HttpServer server =
        vertx
            .createHttpServer()
            .requestHandler(
                req -> {
                  if (!Admin.serve(req, view)) {
                    req.response().setStatusCode(404).end();
                  }
                })
            .listen(0, "127.0.0.1")
            .toCompletionStage()
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    port = server.actualPort();
  }

  @AfterEach
  void stop() throws Exception {
    dumpMayFinish.countDown();
    vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private CompletableFuture<HttpResponse<String>> get(String path) {
    return http.sendAsync(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aDumpInProgressDoesNotHoldUpTheEventLoop() throws Exception {
    CompletableFuture<HttpResponse<String>> dump = get("/config_dump");
    assertThat(dumpStarted.await(5, TimeUnit.SECONDS)).isTrue();
    // The same server, so the same event loop: it answers while the dump is still being rendered.
    HttpResponse<String> ready = get("/ready").get(5, TimeUnit.SECONDS);
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(dump).isNotDone();
    dumpMayFinish.countDown();

    HttpResponse<String> done = dump.get(5, TimeUnit.SECONDS);
    assertThat(done.statusCode()).isEqualTo(200);
    assertThat(done.headers().firstValue("content-type")).hasValue("application/json");
    assertThat(done.body()).isEqualTo("{\"configs\":[]}");
    assertThat(dumpedOnEventLoop).isFalse();
  }

  @Test
  void theScrapeIsServedWithPrometheusContentType() throws Exception {
    HttpResponse<String> r = get("/stats/prometheus").get(5, TimeUnit.SECONDS);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type"))
        .hasValue("text/plain; version=0.0.4; charset=utf-8");
    assertThat(r.body()).isEqualTo("qmesh_up 1\n");
  }
}
