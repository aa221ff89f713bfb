package io.qmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.ProxyStats;
import io.qmesh.proxy.telemetry.IstioMetrics;
import io.qmesh.proxy.telemetry.Peer;
import io.qmesh.proxy.xds.XdsResources;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Istio's standard metrics from both reporters over real sockets: productpage-v1's outbound side
 * (source) -> reviews-v2's inbound side (destination) -> the app, with the peer metadata exchanged
 * in headers the app and the client never see.
 */
class IstioMetricsTest {

  private static final String REVIEWS = "reviews.default.svc.cluster.local";
  private static final String CLUSTER = "outbound|9080||" + REVIEWS;

  private Backends b;
  private SimpleMeterRegistry sourceRegistry;
  private SimpleMeterRegistry destinationRegistry;

  @BeforeEach
  void start() throws Exception {
    start(Map.of());
  }

  /** The mesh of these tests, the client's listeners ({@code clientListeners}) as given. */
  private void start(Map<String, io.envoyproxy.envoy.config.listener.v3.Listener> clientListeners)
      throws Exception {
    if (b != null) {
      b.close();
    }
    b = new Backends();
    int app = b.start();
    destinationRegistry = new SimpleMeterRegistry();
    Peer reviews =
        Peer.of("reviews-v2", "default", Map.of("app", "reviews", "version", "v2"), null);
    ProxyConfig server =
        ProxyConfig.compile(
            new XdsResources(
                Map.of(),
                Map.of(
                    "inbound|9080||",
                    RouteConfiguration.newBuilder()
                        .setName("inbound|9080||")
                        .addVirtualHosts(
                            VirtualHost.newBuilder()
                                .setName("inbound")
                                .addDomains("*")
                                .addRoutes(TestXds.to("/", "inbound|9080||")))
                        .build()),
                Map.of("inbound|9080||", TestXds.eds("inbound|9080||").build()),
                Map.of("inbound|9080||", TestXds.cla("inbound|9080||", app))));
    int inbound =
        Backends.await(
                HttpProxy.withRoutes(
                        b.vertx,
                        () -> server,
                        "inbound|9080||",
                        new ProxyStats(destinationRegistry))
                    .reporting(
                        new IstioMetrics(
                            destinationRegistry,
                            IstioMetrics.Reporter.DESTINATION,
                            reviews,
                            "sidecar~127.0.0.1~reviews-v2-1.default~default.svc.cluster.local"))
                    .listen("127.0.0.1", 0))
            .actualPort();

    sourceRegistry = new SimpleMeterRegistry();
    Peer productpage =
        Peer.of("productpage-v1", "default", Map.of("app", "productpage", "version", "v1"), null);
    ProxyConfig client =
        ProxyConfig.compile(
            new XdsResources(
                clientListeners,
                Map.of("9080", TestXds.routes("9080", "reviews", CLUSTER)),
                Map.of(CLUSTER, TestXds.eds(CLUSTER).build()),
                Map.of(CLUSTER, TestXds.cla(CLUSTER, inbound))));
    int outbound =
        Backends.await(
                HttpProxy.outbound(b.vertx, () -> client, new ProxyStats(sourceRegistry))
                    .reporting(
                        new IstioMetrics(
                            sourceRegistry,
                            IstioMetrics.Reporter.SOURCE,
                            productpage,
                            "sidecar~127.0.0.1~productpage-v1-1.default~default.svc.cluster.local"))
                    .listen("127.0.0.1", 0))
            .actualPort();
    b.useClientProxy(outbound);
  }

  @AfterEach
  void stop() throws Exception {
    b.close();
  }

  private static Map<String, String> expected(String reporter, String code, String security) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("reporter", reporter);
    m.put("source_workload", "productpage-v1");
    m.put("source_canonical_service", "productpage");
    m.put("source_canonical_revision", "v1");
    m.put("source_workload_namespace", "default");
    m.put("source_principal", "unknown");
    m.put("source_app", "productpage");
    m.put("source_version", "v1");
    m.put("source_cluster", "Kubernetes");
    m.put("destination_workload", "reviews-v2");
    m.put("destination_workload_namespace", "default");
    m.put("destination_principal", "unknown");
    m.put("destination_app", "reviews");
    m.put("destination_version", "v2");
    m.put("destination_service", REVIEWS);
    m.put("destination_canonical_service", "reviews");
    m.put("destination_canonical_revision", "v2");
    m.put("destination_service_name", "reviews");
    m.put("destination_service_namespace", "default");
    m.put("destination_cluster", "Kubernetes");
    m.put("request_protocol", "http");
    m.put("response_code", code);
    m.put("grpc_response_status", "");
    m.put("response_flags", "-");
    m.put("connection_security_policy", security);
    return m;
  }

  private static Map<String, String> tags(Meter m) {
    Map<String, String> out = new java.util.TreeMap<>();
    for (Tag t : m.getId().getTags()) {
      out.put(t.getKey(), t.getValue());
    }
    return out;
  }

  private static List<Meter> requests(SimpleMeterRegistry r) {
    return r.getMeters().stream()
        .filter(m -> m.getId().getName().equals("istio_requests"))
        .toList();
  }

  @Test
  void bothReportersRecordTheExactIstioSeries() throws Exception {
    HttpResponse<String> ok = b.get("reviews:9080", "/status/200");
    b.get("reviews:9080", "/status/200");
    HttpResponse<String> failed = b.get("reviews:9080", "/status/503");

    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(failed.statusCode()).isEqualTo(503);
    // The exchange's headers stay between the proxies.
    assertThat(ok.headers().firstValue(Peer.HEADER)).isEmpty();
    assertThat(b.received)
        .allSatisfy(r -> assertThat(r.headers()).doesNotContainKeys(Peer.HEADER, Peer.ID_HEADER));

    for (var c :
        List.of(
            new Object[] {sourceRegistry, "source", "unknown"},
            new Object[] {destinationRegistry, "destination", "none"})) {
      SimpleMeterRegistry r = (SimpleMeterRegistry) c[0];
      // Recorded when each response has ended, which the client may see first.
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(5))
          .until(
              () ->
                  requests(r).stream()
                          .mapToDouble(m -> ((io.micrometer.core.instrument.Counter) m).count())
                          .sum()
                      == 3);
      List<Meter> series = requests(r);
      assertThat(series).hasSize(2);
      for (Meter m : series) {
        assertThat(tags(m).keySet()).containsExactlyInAnyOrderElementsOf(IstioMetrics.LABELS);
      }
      Meter two =
          series.stream()
              .filter(m -> tags(m).get("response_code").equals("200"))
              .findFirst()
              .orElseThrow();
      assertThat(tags(two))
          .isEqualTo(new java.util.TreeMap<>(expected((String) c[1], "200", (String) c[2])));
      assertThat(r.get("istio_requests").tags("response_code", "200").counter().count())
          .isEqualTo(2);
      assertThat(r.get("istio_requests").tags("response_code", "503").counter().count())
          .isEqualTo(1);
      var duration =
          r.get("istio_request_duration_milliseconds").tags("response_code", "200").summary();
      assertThat(duration.count()).isEqualTo(2);
      assertThat(r.get("istio_response_bytes").tags("response_code", "200").summary().totalAmount())
          .isPositive();
    }
  }

  @Test
  void onlyAPostIsGrpcAsgRpcCallsArePosts() throws Exception {
    // A GET that says gRPC in its content type is not a gRPC call: counted as http, and the
    // content type is not even looked up for it (gRPC's spec has POST as its only method).
    assertThat(
            b.get("reviews:9080", "/status/200", "content-type", "application/grpc").statusCode())
        .isEqualTo(200);

    for (SimpleMeterRegistry r : List.of(sourceRegistry, destinationRegistry)) {
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(5))
          .until(() -> !requests(r).isEmpty());
      assertThat(requests(r)).hasSize(1);
      assertThat(tags(requests(r).get(0))).containsEntry("request_protocol", "http");
    }
  }

  /**
   * Istio's stats filter as pilot writes it for a Telemetry's {@code metrics.overrides}: the plugin
   * config as a TypedStruct, one entry per dropped metric (the empty name: every metric).
   */
  static com.google.protobuf.Any statsConfig(String... dropped) {
    var metrics = com.google.protobuf.ListValue.newBuilder();
    for (String name : dropped) {
      metrics.addValues(
          com.google.protobuf.Value.newBuilder()
              .setStructValue(
                  com.google.protobuf.Struct.newBuilder()
                      .putFields(
                          "name",
                          com.google.protobuf.Value.newBuilder().setStringValue(name).build())
                      .putFields(
                          "drop",
                          com.google.protobuf.Value.newBuilder().setBoolValue(true).build())));
    }
    return com.google.protobuf.Any.pack(
        com.github.xds.type.v3.TypedStruct.newBuilder()
            .setTypeUrl("type.googleapis.com/stats.PluginConfig")
            .setValue(
                com.google.protobuf.Struct.newBuilder()
                    .putFields(
                        "metrics",
                        com.google.protobuf.Value.newBuilder().setListValue(metrics).build()))
            .build());
  }

  /** The client's outbound listener for port 9080, its connection manager with the stats filter. */
  private static Map<String, io.envoyproxy.envoy.config.listener.v3.Listener> droppingListener(
      String... dropped) {
    var hcm =
        io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3
            .HttpConnectionManager.newBuilder()
            .setStatPrefix("outbound_0.0.0.0_9080")
            .setRds(
                io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds
                    .newBuilder()
                    .setRouteConfigName("9080"))
            .addHttpFilters(
                io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter
                    .newBuilder()
                    .setName(IstioMetrics.STATS_FILTER)
                    .setTypedConfig(statsConfig(dropped)))
            .build();
    return Map.of(
        "0.0.0.0_9080",
        TestXds.listener(9080, "envoy.filters.network.http_connection_manager", hcm).build());
  }

  private static List<String> istioMeters(SimpleMeterRegistry r) {
    return r.getMeters().stream()
        .map(m -> m.getId().getName())
        // (SimpleMeterRegistry shows each histogram's buckets as a meter of its own too.)
        .filter(n -> n.startsWith("istio_") && !n.endsWith(".histogram"))
        .distinct()
        .sorted()
        .toList();
  }

  @Test
  void aStatsFilterDropsItsMetricsFromTheReport() throws Exception {
    start(droppingListener("request_duration_milliseconds", "request_bytes", "response_bytes"));

    assertThat(b.get("reviews:9080", "/status/200").statusCode()).isEqualTo(200);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(
            () -> !requests(sourceRegistry).isEmpty() && !requests(destinationRegistry).isEmpty());

    // The source's connection manager drops three of the four; the destination's has no filter.
    assertThat(istioMeters(sourceRegistry)).containsExactly("istio_requests");
    assertThat(sourceRegistry.get("istio_requests").counter().count()).isEqualTo(1);
    assertThat(istioMeters(destinationRegistry))
        .containsExactly(
            "istio_request_bytes",
            "istio_request_duration_milliseconds",
            "istio_requests",
            "istio_response_bytes");
  }

  @Test
  void droppingEveryMetricReportsNoneButStillExchangesPeerMetadata() throws Exception {
    start(droppingListener(""));

    assertThat(b.get("reviews:9080", "/status/200").statusCode()).isEqualTo(200);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(() -> !requests(destinationRegistry).isEmpty());

    assertThat(istioMeters(sourceRegistry)).isEmpty();
    // The source still sent its metadata: the destination knows who called.
    assertThat(tags(requests(destinationRegistry).get(0)))
        .containsEntry("source_workload", "productpage-v1");
  }

  @Test
  void anUnknownMetricInTheStatsFilterIsRefusedWithTheListenersName() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                ProxyConfig.compile(
                    new XdsResources(
                        droppingListener("requests_totl"), Map.of(), Map.of(), Map.of())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0.0.0.0_9080")
        .hasMessageContaining("unknown metric 'requests_totl'");
  }

  @Test
  void aProxyFailureIsReportedWithItsFlag() throws Exception {
    assertThat(b.get("nowhere:9080", "/").statusCode()).isEqualTo(404);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(() -> !requests(sourceRegistry).isEmpty());

    Meter nr = requests(sourceRegistry).get(0);
    assertThat(tags(nr))
        .containsEntry("response_code", "404")
        .containsEntry("response_flags", "NR")
        .containsEntry("destination_service", "unknown")
        .containsEntry("destination_workload", "unknown");
  }

  @Test
  void tcpConnectionsAreCountedByBothReporters() throws Exception {
    String cluster = "outbound|9090||echo-tcp.default.svc.cluster.local";
    int inbound = echoInbound(Map.of());
    ProxyConfig client =
        ProxyConfig.compile(
            new XdsResources(
                Map.of(
                    "0.0.0.0_9090",
                    TestXds.listener(
                            9090,
                            "envoy.filters.network.tcp_proxy",
                            io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                                .newBuilder()
                                .setStatPrefix(cluster)
                                .setCluster(cluster)
                                .build())
                        .build()),
                Map.of(),
                Map.of(cluster, TestXds.eds(cluster).build()),
                Map.of(cluster, TestXds.cla(cluster, inbound))));
    int outbound =
        Backends.await(
                HttpProxy.outbound(b.vertx, () -> client)
                    .reporting(
                        new IstioMetrics(
                            sourceRegistry,
                            IstioMetrics.Reporter.SOURCE,
                            Peer.of("client", "default", Map.of("app", "client"), null),
                            "sidecar~127.0.0.1~client-1.default~default.svc.cluster.local"))
                    .listen("127.0.0.1", 0))
            .actualPort();

    try (var socket = new java.net.Socket("127.0.0.1", outbound)) {
      socket.setSoTimeout(5000);
      var out = socket.getOutputStream();
      var in = socket.getInputStream();
      out.write("CONNECT echo-tcp:9090 HTTP/1.1\r\nHost: echo-tcp:9090\r\n\r\n".getBytes());
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        head.append((char) in.read());
      }
      assertThat(head.toString()).startsWith("HTTP/1.1 200");
      out.write("hello".getBytes());
      assertThat(new String(in.readNBytes(5))).isEqualTo("hello");
    }

    for (var c :
        List.of(
            new Object[] {sourceRegistry, "source", REVIEWS.replace("reviews", "echo-tcp")},
            new Object[] {destinationRegistry, "destination", "unknown"})) {
      SimpleMeterRegistry r = (SimpleMeterRegistry) c[0];
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(5))
          .until(
              () ->
                  r.find("istio_tcp_connections_closed").counter() != null
                      && r.find("istio_tcp_connections_closed").counter().count() == 1);
      var opened = r.get("istio_tcp_connections_opened").counter();
      assertThat(opened.count()).isEqualTo(1);
      assertThat(r.get("istio_tcp_received_bytes").counter().count()).isEqualTo(5);
      assertThat(r.get("istio_tcp_sent_bytes").counter().count()).isEqualTo(5);
      Map<String, String> tags = tags(opened);
      assertThat(tags)
          .containsEntry("reporter", (String) c[1])
          .containsEntry("request_protocol", "tcp")
          .containsEntry("destination_service", (String) c[2])
          .containsEntry("response_flags", "-")
          .doesNotContainKeys("response_code", "grpc_response_status");
      assertThat(tags).hasSize(IstioMetrics.LABELS.size() - 2);
    }
  }

  @Test
  void aTcpChainsStatsFilterDropsItsMetrics() throws Exception {
    var listener =
        TestXds.listener(
                15006,
                "envoy.filters.network.tcp_proxy",
                io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.newBuilder()
                    .setStatPrefix("inbound|9090||")
                    .setCluster("inbound|9090||")
                    .build())
            .build();
    // Istio's order: the stats filter before the TCP proxy in the same chain.
    listener =
        listener.toBuilder()
            .setFilterChains(
                0,
                listener.getFilterChains(0).toBuilder()
                    .addFilters(
                        0,
                        io.envoyproxy.envoy.config.listener.v3.Filter.newBuilder()
                            .setName(IstioMetrics.STATS_FILTER)
                            .setTypedConfig(
                                statsConfig("tcp_sent_bytes_total", "tcp_received_bytes_total"))))
            .build();
    int inbound = echoInbound(Map.of(listener.getName(), listener));

    try (var socket = new java.net.Socket("127.0.0.1", inbound)) {
      socket.setSoTimeout(5000);
      socket.getOutputStream().write("hello".getBytes());
      assertThat(new String(socket.getInputStream().readNBytes(5))).isEqualTo("hello");
    }

    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(() -> destinationRegistry.find("istio_tcp_connections_closed").counter() != null);
    assertThat(istioMeters(destinationRegistry))
        .containsExactly("istio_tcp_connections_closed", "istio_tcp_connections_opened");
  }

  /**
   * An echo server behind echo-tcp-v1's inbound TCP proxy for cluster {@code inbound|9090||},
   * reporting as destination, its config with {@code listeners}; the proxy's port.
   */
  private int echoInbound(Map<String, io.envoyproxy.envoy.config.listener.v3.Listener> listeners)
      throws Exception {
    int echo = b.tcpEcho();
    ProxyConfig server =
        ProxyConfig.compile(
            new XdsResources(
                listeners,
                Map.of(),
                Map.of("inbound|9090||", TestXds.eds("inbound|9090||").build()),
                Map.of("inbound|9090||", TestXds.cla("inbound|9090||", echo))));
    return Backends.await(
            new TcpProxy(b.vertx, () -> server, "inbound|9090||")
                .reporting(
                    new IstioMetrics(
                        destinationRegistry,
                        IstioMetrics.Reporter.DESTINATION,
                        Peer.of("echo-tcp-v1", "default", Map.of("app", "echo-tcp"), null),
                        "sidecar~127.0.0.1~echo-tcp-v1-1.default~default.svc.cluster.local"))
                .listen("127.0.0.1", 0))
        .actualPort();
  }
}
