package io.qmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.ProxyStats;
import io.qmesh.proxy.xds.XdsResources;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The proxy's counters, its route timeouts and its drain, over real sockets. */
class StatsAndDrainTest {

  private Vertx vertx;
  private SimpleMeterRegistry registry;
  private HttpProxy proxy;
  private int port;
  private HttpClient client;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    int backend =
        await(
                vertx
                    .createHttpServer()
                    .requestHandler(
                        req -> {
                          if (req.path().equals("/slow")) {
                            vertx.setTimer(600, t -> req.response().end("slow"));
                          } else {
                            req.response().end("ok");
                          }
                        })
                    .listen(0, "127.0.0.1"))
            .actualPort();
    ProxyConfig config =
        ProxyConfig.compile(
            new XdsResources(
                Map.of(),
                Map.of(
                    "9080",
                    TestXds.routes("9080", "app", "app").toBuilder()
                        .addVirtualHosts(
                            io.envoyproxy.envoy.config.route.v3.VirtualHost.newBuilder()
                                .setName("impatient")
                                .addDomains("impatient:9080")
                                .addRoutes(
                                    io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
                                        .setMatch(
                                            io.envoyproxy.envoy.config.route.v3.RouteMatch
                                                .newBuilder()
                                                .setPrefix("/"))
                                        .setRoute(
                                            io.envoyproxy.envoy.config.route.v3.RouteAction
                                                .newBuilder()
                                                .setCluster("app")
                                                .setTimeout(
                                                    com.google.protobuf.Duration.newBuilder()
                                                        .setNanos(200_000_000)))))
                        .build()),
                Map.of("app", TestXds.eds("app").build()),
                Map.of("app", TestXds.cla("app", backend))));
    registry = new SimpleMeterRegistry();
    proxy = HttpProxy.outbound(vertx, () -> config, new ProxyStats(registry));
    port = await(proxy.listen("127.0.0.1", 0)).actualPort();
    client =
        HttpClient.newBuilder()
            .proxy(java.net.ProxySelector.of(new java.net.InetSocketAddress("127.0.0.1", port)))
            .build();
  }

  @AfterEach
  void stop() throws Exception {
    await(vertx.close());
  }

  @Test
  void countsRequestsByClassAndFlag() throws Exception {
    assertThat(get("app:9080", "/").statusCode()).isEqualTo(200);
    assertThat(get("app:9080", "/x").statusCode()).isEqualTo(200);
    assertThat(get("nowhere:9080", "/").statusCode()).isEqualTo(404);
    // A request is counted done when its response has ended, which the client may see first.
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> registry.get("envoy_http_downstream_rq_active").gauge().value() == 0);

    assertThat(registry.get("envoy_http_downstream_rq").counter().count()).isEqualTo(3);
    assertThat(
            registry
                .get("envoy_http_downstream_rq_xx")
                .tag("envoy_response_code_class", "2")
                .counter()
                .count())
        .isEqualTo(2);
    assertThat(
            registry
                .get("envoy_http_downstream_rq_xx")
                .tag("envoy_response_code_class", "4")
                .counter()
                .count())
        .isEqualTo(1);
    assertThat(
            registry.get("qmesh_proxy_response_flags").tag("response_flag", "NR").counter().count())
        .isEqualTo(1);
    assertThat(registry.get("envoy_http_downstream_rq_active").gauge().value()).isZero();
  }

  @Test
  void drainingFinishesRequestsInFlightAndAsksClientsToClose() throws Exception {
    CompletableFuture<HttpResponse<String>> slow =
        client.sendAsync(request("app:9080", "/slow"), HttpResponse.BodyHandlers.ofString());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (registry.get("envoy_http_downstream_rq_active").gauge().value() < 1
        && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    CompletableFuture<Void> drained =
        proxy.drain(Duration.ofSeconds(10)).toCompletionStage().toCompletableFuture();
    assertThat(drained).isNotDone();

    HttpResponse<String> during = get("app:9080", "/");
    assertThat(during.statusCode()).isEqualTo(200);
    assertThat(during.headers().firstValue("connection")).hasValue("close");

    assertThat(slow.get(10, TimeUnit.SECONDS).body()).isEqualTo("slow");
    drained.get(5, TimeUnit.SECONDS);
    assertThat(registry.get("envoy_http_downstream_rq_active").gauge().value()).isZero();
  }

  @Test
  void aRouteTimeoutAnswers504WithUtWithoutWaitingForTheUpstream() throws Exception {
    long t0 = System.nanoTime();
    HttpResponse<String> r = get("impatient:9080", "/slow");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.statusCode()).isEqualTo(504);
    assertThat(r.body()).isEqualTo("upstream request timeout (UT)\n");
    assertThat(ms).as("answered at the timeout, not when the upstream did").isLessThan(550);
    assertThat(get("impatient:9080", "/").body()).as("fast enough").isEqualTo("ok");
    assertThat(get("app:9080", "/slow").body()).as("no timeout on this route").isEqualTo("slow");
    assertThat(
            registry.get("qmesh_proxy_response_flags").tag("response_flag", "UT").counter().count())
        .isEqualTo(1);
    // A request is counted done when its response has ended, which the client may see first.
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> registry.get("envoy_http_downstream_rq_active").gauge().value() == 0);
  }

  private HttpResponse<String> get(String host, String path) throws Exception {
    return client.send(request(host, path), HttpResponse.BodyHandlers.ofString());
  }

  private HttpRequest request(String host, String path) {
    // Through the proxy as the client's HTTP proxy: the absolute form names the host.
    return HttpRequest.newBuilder(URI.create("http://" + host + path))
        .timeout(Duration.ofSeconds(10))
        .build();
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
