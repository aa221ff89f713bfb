package io.qmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.type.v3.Percent;
import io.qmesh.proxy.Admin;
import io.qmesh.proxy.xds.XdsResources;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Retries, per-try and route timeouts, circuit breakers and outlier detection, enforced by the
 * proxy over real sockets with the Envoy settings pilot writes for Istio's fields.
 */
class ResilienceTest {

  private Backends b;

  @BeforeEach
  void start() throws Exception {
    b = new Backends();
  }

  @AfterEach
  void stop() throws Exception {
    b.close();
  }

  static com.google.protobuf.Duration millis(long ms) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(ms / 1000)
        .setNanos((int) (ms % 1000) * 1_000_000)
        .build();
  }

  /** Istio's retry policy for {@code retries: {attempts, perTryTimeout, retryOn}}. */
  static RetryPolicy.Builder retries(int attempts, String retryOn) {
    return RetryPolicy.newBuilder()
        .setRetryOn(retryOn)
        .setNumRetries(UInt32Value.of(attempts))
        .addRetryHostPredicate(
            RetryPolicy.RetryHostPredicate.newBuilder()
                .setName("envoy.retry_host_predicates.previous_hosts"))
        .setHostSelectionRetryMaxAttempts(5);
  }

  /** Route config 9080: host {@code app:9080}, everything by {@code action} to cluster "app". */
  private void use(RouteAction.Builder action, Cluster.Builder cluster, int... ports) {
    Route route =
        Route.newBuilder()
            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
            .setRoute(action.setCluster("app"))
            .build();
    RouteConfiguration rc =
        RouteConfiguration.newBuilder()
            .setName("9080")
            .addVirtualHosts(
                VirtualHost.newBuilder().setName("app").addDomains("app:9080").addRoutes(route))
            .build();
    b.use(
        new XdsResources(
            Map.of(),
            Map.of("9080", rc),
            Map.of("app", cluster.build()),
            Map.of("app", TestXds.cla("app", ports))));
  }

  @Test
  void retriesA5xxOnAnotherHostUntilItSucceeds() throws Exception {
    int one = b.start();
    int two = b.start();
    use(RouteAction.newBuilder().setRetryPolicy(retries(3, "5xx")), TestXds.eds("app"), one, two);

    HttpResponse<String> r = b.get("app:9080", "/fail/2", "x-key", "k1");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("seen")).hasValue("3");
    List<Integer> ports = b.received.stream().map(Backends.Received::port).toList();
    assertThat(ports).hasSize(3);
    // previous_hosts: the first retry goes to the other host.
    assertThat(ports.get(1)).isNotEqualTo(ports.get(0));
    assertThat(b.registry.get("envoy_cluster_upstream_rq_retry").counter().count()).isEqualTo(2);
  }

  @Test
  void aRetryThatExhaustsItsAttemptsReportsTheLastUpstreamStatus() throws Exception {
    int one = b.start();
    use(RouteAction.newBuilder().setRetryPolicy(retries(2, "5xx")), TestXds.eds("app"), one);

    HttpResponse<String> r = b.get("app:9080", "/status/503", "x-key", "k2");

    assertThat(r.statusCode()).isEqualTo(503);
    // The third answer (first try and two retries) is the one relayed, body and all.
    assertThat(r.body()).isEqualTo(one + " 3");
    assertThat(b.received).hasSize(3);
    assertThat(b.flagCount("URX")).isEqualTo(1);
  }

  @Test
  void underLeastRequestARetryLeavesAHostThatFailsFast() throws Exception {
    int good = b.start();
    int dead = b.start();
    b.stop(dead);
    // The dead host refuses at once, so it always has the fewest requests in flight: least
    // request picks it first whenever the good one is busy, and the retry must still go elsewhere.
    use(
        RouteAction.newBuilder().setRetryPolicy(retries(2, "5xx,connect-failure")),
        TestXds.eds("app").setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST),
        good,
        dead);

    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      all.add(
          b.client.sendAsync(
              Backends.request("GET", "app:9080", "/slow/300", null),
              HttpResponse.BodyHandlers.ofString()));
    }
    Map<Integer, Integer> statuses = new HashMap<>();
    for (var f : all) {
      statuses.merge(f.get(10, TimeUnit.SECONDS).statusCode(), 1, Integer::sum);
    }
    assertThat(statuses).containsExactly(Map.entry(200, 40));
  }

  @Test
  void aTryTimingOutWhileItWaitsForAConnectionDoesNotCountAgainstTheHost() throws Exception {
    int one = b.start();
    // /slow is routed without a per-try timeout and fills the host's connection pool (64); /quick
    // has a 200 ms per-try timeout and no retries, so it times out waiting for a connection.
    // One failure ejects (for a minute), up to every host.
    Cluster.Builder cluster = withOutliers(1, 60_000, 100);
    RouteConfiguration rc =
        RouteConfiguration.newBuilder()
            .setName("9080")
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("app")
                    .addDomains("app:9080")
                    .addRoutes(
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPrefix("/slow"))
                            .setRoute(RouteAction.newBuilder().setCluster("app")))
                    .addRoutes(
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setRoute(
                                RouteAction.newBuilder()
                                    .setCluster("app")
                                    .setRetryPolicy(
                                        retries(0, "5xx").setPerTryTimeout(millis(200))))))
            .build();
    b.use(
        new XdsResources(
            Map.of(),
            Map.of("9080", rc),
            Map.of("app", cluster.build()),
            Map.of("app", TestXds.cla("app", one))));

    List<CompletableFuture<HttpResponse<String>>> slow = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      slow.add(
          b.client.sendAsync(
              Backends.request("GET", "app:9080", "/slow/1500", null),
              HttpResponse.BodyHandlers.ofString()));
    }
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(() -> b.received.size() == 64);
    HttpResponse<String> waited = b.get("app:9080", "/quick");
    assertThat(waited.statusCode()).isEqualTo(504);
    assertThat(waited.body()).contains("UT");
    for (var f : slow) {
      assertThat(f.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }

    // The host was never reached by the timed-out try: it stays in rotation.
    assertThat(b.get("app:9080", "/quick").statusCode()).isEqualTo(200);
    assertThat(b.config.get().clusters().get("app").hosts()).noneMatch(h -> h.ejected());
  }

  @Test
  void onlyTheListedConditionsAreRetried() throws Exception {
    int one = b.start();
    use(
        RouteAction.newBuilder()
            .setRetryPolicy(
                retries(3, "retriable-status-codes,connect-failure").addRetriableStatusCodes(429)),
        TestXds.eds("app"),
        one);

    assertThat(b.get("app:9080", "/status/503", "x-key", "a").statusCode()).isEqualTo(503);
    assertThat(b.byKey.get("a").get()).isEqualTo(1);
    assertThat(b.get("app:9080", "/status/429", "x-key", "b").statusCode()).isEqualTo(429);
    assertThat(b.byKey.get("b").get()).isEqualTo(4);
  }

  @Test
  void attemptsZeroMeansNoRetries() throws Exception {
    int one = b.start();
    // Istio's attempts: 0 clears the route's retry policy.
    use(RouteAction.newBuilder(), TestXds.eds("app"), one);

    assertThat(b.get("app:9080", "/fail/1", "x-key", "z").statusCode()).isEqualTo(503);
    assertThat(b.byKey.get("z").get()).isEqualTo(1);
  }

  @Test
  void theDefaultPolicyRetriesAConnectFailureOnAnotherHost() throws Exception {
    int live = b.start();
    int dead = Backends.deadPort();
    use(
        RouteAction.newBuilder()
            .setRetryPolicy(retries(2, "connect-failure,refused-stream,unavailable,cancelled")),
        TestXds.eds("app"),
        live,
        dead);

    for (int i = 0; i < 20; i++) {
      HttpResponse<String> r = b.get("app:9080", "/");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("backend")).hasValue(String.valueOf(live));
    }
  }

  @Test
  void aPostBodyIsReplayedOnRetry() throws Exception {
    int one = b.start();
    int two = b.start();
    use(
        RouteAction.newBuilder().setRetryPolicy(retries(2, "connect-failure,5xx")),
        TestXds.eds("app"),
        one,
        two);
    b.stop(two);

    for (int i = 0; i < 6; i++) {
      HttpResponse<String> r = b.send("POST", "app:9080", "/echo", "payload " + i);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("payload " + i);
    }
  }

  @Test
  void aPerTryTimeoutShorterThanTheRouteTimeoutRetriesTheSlowTry() throws Exception {
    int one = b.start();
    use(
        RouteAction.newBuilder()
            .setTimeout(millis(3000))
            .setRetryPolicy(retries(2, "5xx").setPerTryTimeout(millis(200))),
        TestXds.eds("app"),
        one);

    long start = System.nanoTime();
    HttpResponse<String> r = b.get("app:9080", "/slow-first/2000", "x-key", "p");
    long tookMs = (System.nanoTime() - start) / 1_000_000;

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("seen")).hasValue("2");
    assertThat(tookMs).isLessThan(1500);
  }

  @Test
  void perTryTimeoutsOnEveryTryEndIn504Ut() throws Exception {
    int one = b.start();
    use(
        RouteAction.newBuilder()
            .setRetryPolicy(retries(1, "gateway-error").setPerTryTimeout(millis(150))),
        TestXds.eds("app"),
        one);

    HttpResponse<String> r = b.get("app:9080", "/slow/3000", "x-key", "t");

    assertThat(r.statusCode()).isEqualTo(504);
    assertThat(r.body()).contains("UT");
    assertThat(b.byKey.get("t").get()).isEqualTo(2);
  }

  @Test
  void theRouteTimeoutBoundsAllTries() throws Exception {
    int one = b.start();
    use(
        RouteAction.newBuilder()
            .setTimeout(millis(300))
            .setRetryPolicy(retries(5, "5xx").setPerTryTimeout(millis(200))),
        TestXds.eds("app"),
        one);

    long start = System.nanoTime();
    HttpResponse<String> r = b.get("app:9080", "/slow/3000");

    assertThat(r.statusCode()).isEqualTo(504);
    assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(2000);
  }

  @Test
  void circuitBreakerOverflowIs503UoWithoutWaiting() throws Exception {
    int one = b.start();
    // Istio: connectionPool {tcp.maxConnections: 1, http.http1MaxPendingRequests: 1}.
    use(
        RouteAction.newBuilder(),
        TestXds.eds("app")
            .setCircuitBreakers(
                CircuitBreakers.newBuilder()
                    .addThresholds(
                        CircuitBreakers.Thresholds.newBuilder()
                            .setMaxConnections(UInt32Value.of(1))
                            .setMaxPendingRequests(UInt32Value.of(1))
                            .setMaxRequests(UInt32Value.of(Integer.MAX_VALUE)))),
        one);

    List<CompletableFuture<HttpResponse<String>>> slow = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      slow.add(
          b.client.sendAsync(
              Backends.request("GET", "app:9080", "/slow/1500", null),
              HttpResponse.BodyHandlers.ofString()));
    }
    // Both admitted: one on the connection, one pending (here, on a second pooled connection).
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(() -> b.received.size() == 2);
    long start = System.nanoTime();
    HttpResponse<String> third = b.get("app:9080", "/");
    long tookMs = (System.nanoTime() - start) / 1_000_000;

    assertThat(third.statusCode()).isEqualTo(503);
    assertThat(third.body()).contains("UO");
    assertThat(tookMs).isLessThan(1000);
    for (var s : slow) {
      assertThat(s.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }
    // The breaker closes again once the requests are done.
    assertThat(b.get("app:9080", "/").statusCode()).isEqualTo(200);
  }

  @Test
  void theRetryBreakerLimitsRetriesInFlight() throws Exception {
    int one = b.start();
    use(
        RouteAction.newBuilder().setRetryPolicy(retries(3, "5xx")),
        TestXds.eds("app")
            .setCircuitBreakers(
                CircuitBreakers.newBuilder()
                    .addThresholds(
                        CircuitBreakers.Thresholds.newBuilder().setMaxRetries(UInt32Value.of(0)))),
        one);

    assertThat(b.get("app:9080", "/status/503", "x-key", "r").statusCode()).isEqualTo(503);
    assertThat(b.byKey.get("r").get()).isEqualTo(1);
    assertThat(b.registry.get("envoy_cluster_upstream_rq_retry_overflow").counter().count())
        .isEqualTo(1);
  }

  private static Cluster.Builder withOutliers(int consecutive5xx, long baseMs, int maxPercent) {
    return TestXds.eds("app")
        .setOutlierDetection(
            OutlierDetection.newBuilder()
                .setConsecutive5Xx(UInt32Value.of(consecutive5xx))
                .setEnforcingConsecutive5Xx(UInt32Value.of(100))
                .setInterval(millis(100))
                .setBaseEjectionTime(millis(baseMs))
                .setMaxEjectionPercent(UInt32Value.of(maxPercent)))
        .setCommonLbConfig(
            Cluster.CommonLbConfig.newBuilder().setHealthyPanicThreshold(Percent.newBuilder()))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
  }

  @Test
  void anEjectedEndpointReceivesNoTrafficUntilItsEjectionEnds() throws Exception {
    int good = b.start();
    int bad = b.start();
    // consecutive5xxErrors: 2, baseEjectionTime: 1.5s, no retries; the bad host is down.
    use(RouteAction.newBuilder(), withOutliers(2, 1500, 50), good, bad);
    b.stop(bad);

    Map<String, Integer> answers = new HashMap<>();
    long ejectedAt = 0;
    for (int i = 0; i < 10; i++) {
      HttpResponse<String> r = b.get("app:9080", "/");
      if (answers.merge(String.valueOf(r.statusCode()), 1, Integer::sum) == 2
          && r.statusCode() == 503) {
        // The second failure ejected the host just before this answer.
        ejectedAt = System.nanoTime();
      }
    }
    // Two connect failures (503 UF) eject the dead host; the rest all reach the good one.
    assertThat(answers.get("503")).isEqualTo(2);
    assertThat(answers.get("200")).isEqualTo(8);
    String status = Admin.clusterStatuses(b.config.get()).toString();
    assertThat(status).contains("port_value=" + bad).contains("failed_outlier_check=true");

    // After the ejection time the host is back in rotation (and fails again).
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .pollInterval(java.time.Duration.ofMillis(50))
        .until(() -> b.get("app:9080", "/").statusCode() == 503);
    assertThat((System.nanoTime() - ejectedAt) / 1_000_000).isGreaterThan(1000);
  }

  @Test
  void ejectionsKeepWithinTheMaximumPercentageAndSurviveAConfigPush() throws Exception {
    int one = b.start();
    int two = b.start();
    use(RouteAction.newBuilder(), withOutliers(1, 60_000, 50), one, two);
    b.stop(one);
    b.stop(two);

    for (int i = 0; i < 6; i++) {
      b.get("app:9080", "/");
    }
    // 50% of two hosts: only one may be ejected.
    long ejected =
        b.config.get().clusters().get("app").hosts().stream().filter(h -> h.ejected()).count();
    assertThat(ejected).isEqualTo(1);

    // A new config with the same endpoints keeps the ejection.
    use(RouteAction.newBuilder().setTimeout(millis(5000)), withOutliers(1, 60_000, 50), one, two);
    assertThat(
            b.config.get().clusters().get("app").hosts().stream().filter(h -> h.ejected()).count())
        .isEqualTo(1);
  }
}
