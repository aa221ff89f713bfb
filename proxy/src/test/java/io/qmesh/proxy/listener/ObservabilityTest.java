package io.qmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ComparisonFilter;
import io.envoyproxy.envoy.config.accesslog.v3.StatusCodeFilter;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.RuntimeUInt32;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Decorator;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.trace.v3.Tracing;
import io.envoyproxy.envoy.config.trace.v3.ZipkinConfig;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.envoyproxy.envoy.type.v3.Percent;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.telemetry.Peer;
import io.qmesh.proxy.telemetry.Tracers;
import io.qmesh.proxy.xds.XdsResources;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Traces and access logs over real sockets, as pilot configures them: productpage's outbound side
 * (client span) -> reviews' inbound side (server span) -> the app, spans exported to a collector
 * speaking Zipkin's v2 API on 127.0.0.1, access logs written to files.
 */
class ObservabilityTest {

  private static final String REVIEWS = "reviews.default.svc.cluster.local";
  private static final String CLUSTER = "outbound|9080||" + REVIEWS;
  private static final String INBOUND = "inbound|9080||";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private Backends b;
  private int app;
  private int zipkin;
  private final ConcurrentLinkedQueue<JsonNode> spans = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> otlp = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> zipkinEncodings = new ConcurrentLinkedQueue<>();
  private Tracers productpageTracers;
  private Tracers reviewsTracers;
  private int inbound;

  @BeforeEach
  void start() throws Exception {
    b = new Backends();
    app = b.start();
    HttpServer collector =
        b.vertx
            // A Zipkin sender may gzip its batches, which a real Zipkin accepts.
            .createHttpServer(
                new io.vertx.core.http.HttpServerOptions().setDecompressionSupported(true))
            .requestHandler(
                req ->
                    req.body()
                        .onSuccess(
                            (Buffer body) -> {
                              try {
                                if (req.path().equals("/api/v2/spans")) {
                                  zipkinEncodings.add(
                                      String.valueOf(req.getHeader("content-encoding")));
                                  JSON.readTree(body.toString()).forEach(spans::add);
                                } else if (req.path().equals("/v1/traces")) {
                                  otlp.add(req.getHeader("content-type") + " " + body.length());
                                }
                                req.response().setStatusCode(202).end();
                              } catch (Exception e) {
                                req.response().setStatusCode(400).end();
                              }
                            }));
    zipkin = Backends.await(collector.listen(0, "127.0.0.1")).actualPort();
    productpageTracers =
        new Tracers(
            Peer.of(
                "productpage-v1", "default", Map.of("app", "productpage", "version", "v1"), null),
            "sidecar~127.0.0.1~productpage-v1-1.default~default.svc.cluster.local");
    reviewsTracers =
        new Tracers(
            Peer.of("reviews-v2", "default", Map.of("app", "reviews", "version", "v2"), null),
            "sidecar~127.0.0.1~reviews-v2-1.default~default.svc.cluster.local");
  }

  @AfterEach
  void stop() throws Exception {
    productpageTracers.close();
    reviewsTracers.close();
    b.close();
  }

  /** Istio's HCM tracing: random sampling, Zipkin at the {@code zipkin} cluster. */
  private static HttpConnectionManager.Tracing tracing(double percent, CustomTag... tags) {
    return HttpConnectionManager.Tracing.newBuilder()
        .setRandomSampling(Percent.newBuilder().setValue(percent))
        .setProvider(
            Tracing.Http.newBuilder()
                .setName("envoy.tracers.zipkin")
                .setTypedConfig(
                    Any.pack(
                        ZipkinConfig.newBuilder()
                            .setCollectorCluster("zipkin")
                            .setCollectorEndpoint("/api/v2/spans")
                            .setCollectorEndpointVersion(
                                ZipkinConfig.CollectorEndpointVersion.HTTP_JSON)
                            .setTraceId128Bit(true)
                            .build())))
        .addAllCustomTags(List.of(tags))
        .build();
  }

  private static Listener hcm(String name, String routes, HttpConnectionManager.Builder hcm) {
    return TestXds.listener(
            9080,
            "envoy.filters.network.http_connection_manager",
            hcm.setStatPrefix(name).setRds(Rds.newBuilder().setRouteConfigName(routes)).build())
        .setName(name)
        .build();
  }

  private static RouteConfiguration decorated(RouteConfiguration rc, String operation) {
    RouteConfiguration.Builder b = rc.toBuilder();
    b.getVirtualHostsBuilder(0)
        .getRoutesBuilder(0)
        .setDecorator(Decorator.newBuilder().setOperation(operation));
    return b.build();
  }

  /**
   * Starts reviews' inbound side and productpage's outbound side with these connection managers.
   */
  private void mesh(HttpConnectionManager.Builder client, HttpConnectionManager.Builder server)
      throws Exception {
    ProxyConfig serverConfig =
        ProxyConfig.compile(
            new XdsResources(
                Map.of(INBOUND, hcm(INBOUND, INBOUND, server)),
                Map.of(
                    INBOUND,
                    decorated(
                        RouteConfiguration.newBuilder()
                            .setName(INBOUND)
                            .addVirtualHosts(
                                VirtualHost.newBuilder()
                                    .setName("inbound")
                                    .addDomains("*")
                                    .addRoutes(TestXds.to("/", INBOUND)))
                            .build(),
                        REVIEWS + ":9080/*")),
                Map.of(
                    INBOUND, TestXds.eds(INBOUND).build(), "zipkin", TestXds.eds("zipkin").build()),
                Map.of(
                    INBOUND, TestXds.cla(INBOUND, app), "zipkin", TestXds.cla("zipkin", zipkin))));
    inbound =
        Backends.await(
                HttpProxy.withRoutes(b.vertx, () -> serverConfig, INBOUND)
                    .tracing(reviewsTracers, true)
                    .listen("127.0.0.1", 0))
            .actualPort();
    ProxyConfig clientConfig =
        ProxyConfig.compile(
            new XdsResources(
                Map.of("0.0.0.0_9080", hcm("0.0.0.0_9080", "9080", client)),
                Map.of(
                    "9080",
                    decorated(TestXds.routes("9080", "reviews", CLUSTER), REVIEWS + ":9080/*")),
                Map.of(
                    CLUSTER, TestXds.eds(CLUSTER).build(), "zipkin", TestXds.eds("zipkin").build()),
                Map.of(
                    CLUSTER,
                    TestXds.cla(CLUSTER, inbound),
                    "zipkin",
                    TestXds.cla("zipkin", zipkin))));
    int outbound =
        Backends.await(
                HttpProxy.outbound(b.vertx, () -> clientConfig)
                    .tracing(productpageTracers, false)
                    .listen("127.0.0.1", 0))
            .actualPort();
    b.useClientProxy(outbound);
  }

  private static Map<String, String> tags(JsonNode span) {
    Map<String, String> out = new java.util.TreeMap<>();
    span.path("tags").fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
    return out;
  }

  @Test
  void eachHopReportsASpanOfOneTraceWithIstiosNamesAndTags() throws Exception {
    mesh(
        HttpConnectionManager.newBuilder()
            .setTracing(
                tracing(
                    100,
                    CustomTag.newBuilder()
                        .setTag("team")
                        .setLiteral(CustomTag.Literal.newBuilder().setValue("bookinfo"))
                        .build(),
                    CustomTag.newBuilder()
                        .setTag("user")
                        .setRequestHeader(
                            CustomTag.Header.newBuilder()
                                .setName("end-user")
                                .setDefaultValue("anonymous"))
                        .build())),
        HttpConnectionManager.newBuilder().setTracing(tracing(100)));

    assertThat(b.get("reviews:9080", "/reviews/0", "end-user", "jason").statusCode())
        .isEqualTo(200);

    await().atMost(Duration.ofSeconds(10)).until(() -> spans.size() >= 2);
    // Posted as plain JSON, as Envoy's Zipkin tracer posts them (no gzip on the proxy's core).
    assertThat(zipkinEncodings).isNotEmpty().containsOnly("null");
    JsonNode client =
        spans.stream().filter(s -> s.path("kind").asText().equals("CLIENT")).findFirst().get();
    JsonNode server =
        spans.stream().filter(s -> s.path("kind").asText().equals("SERVER")).findFirst().get();
    assertThat(client.path("traceId").asText())
        .hasSize(32)
        .isEqualTo(server.path("traceId").asText());
    assertThat(client.has("parentId")).as("the client span starts the trace").isFalse();
    assertThat(server.path("parentId").asText()).isEqualTo(client.path("id").asText());
    assertThat(client.path("name").asText()).isEqualTo(REVIEWS + ":9080/*");
    assertThat(client.path("localEndpoint").path("serviceName").asText())
        .isEqualTo("productpage.default");
    assertThat(server.path("localEndpoint").path("serviceName").asText())
        .isEqualTo("reviews.default");

    // The app sees the server span's context in B3 (Envoy's Zipkin tracer writes no W3C context
    // of its own), and the request id.
    Backends.Received seen = b.received.peek();
    String traceId = server.path("traceId").asText();
    String spanId = server.path("id").asText();
    assertThat(seen.headers())
        .containsEntry("x-b3-traceid", traceId)
        .containsEntry("x-b3-spanid", spanId)
        .containsEntry("x-b3-sampled", "1")
        .doesNotContainKey("traceparent")
        .containsKey("x-request-id");

    Map<String, String> ct = tags(client);
    assertThat(ct)
        .containsEntry("istio.canonical_service", "productpage")
        .containsEntry("istio.canonical_revision", "v1")
        .containsEntry("istio.namespace", "default")
        .containsEntry("istio.mesh_id", "cluster.local")
        .containsEntry(
            "node_id", "sidecar~127.0.0.1~productpage-v1-1.default~default.svc.cluster.local")
        .containsEntry("component", "proxy")
        .containsEntry("http.method", "GET")
        .containsEntry("http.status_code", "200")
        .containsEntry("http.protocol", "HTTP/1.1")
        .containsEntry("upstream_cluster", CLUSTER)
        .containsEntry("response_flags", "-")
        .containsEntry("guid:x-request-id", seen.headers().get("x-request-id"))
        .containsEntry("team", "bookinfo")
        .containsEntry("user", "jason");
    assertThat(ct.get("http.url")).isEqualTo("http://reviews:9080/reviews/0");
    assertThat(tags(server))
        .containsEntry("istio.canonical_service", "reviews")
        .containsEntry("upstream_cluster", INBOUND)
        .doesNotContainKey("error");
  }

  @Test
  void theOpenTelemetryProviderExportsOtlpToTheCollectorCluster() throws Exception {
    HttpConnectionManager.Tracing otel =
        HttpConnectionManager.Tracing.newBuilder()
            .setRandomSampling(Percent.newBuilder().setValue(100))
            .setProvider(
                Tracing.Http.newBuilder()
                    .setName("envoy.tracers.opentelemetry")
                    .setTypedConfig(
                        Any.pack(
                            io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.newBuilder()
                                .setHttpService(
                                    io.envoyproxy.envoy.config.core.v3.HttpService.newBuilder()
                                        .setHttpUri(
                                            io.envoyproxy.envoy.config.core.v3.HttpUri.newBuilder()
                                                .setUri(
                                                    "http://opentelemetry-collector:4318/v1/traces")
                                                .setCluster("zipkin")))
                                .build())))
            .build();
    mesh(
        HttpConnectionManager.newBuilder().setTracing(otel),
        HttpConnectionManager.newBuilder().setTracing(otel));
    assertThat(b.get("reviews:9080", "/otlp").statusCode()).isEqualTo(200);
    // Envoy's OpenTelemetry tracer propagates W3C trace context, not B3.
    Backends.Received seen = b.received.poll();
    assertThat(seen.headers().get("traceparent")).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
    assertThat(seen.headers()).doesNotContainKeys("x-b3-traceid", "x-b3-spanid", "x-b3-sampled");
    // OTLP over HTTP: protobuf batches posted to /v1/traces at the cluster's host.
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(otlp)
                    .isNotEmpty()
                    .allSatisfy(o -> assertThat(o).startsWith("application/x-protobuf ")));
    assertThat(spans).isEmpty();
  }

  @Test
  void theCallersDecisionAndTraceAreKept() throws Exception {
    mesh(
        HttpConnectionManager.newBuilder().setTracing(tracing(100)),
        HttpConnectionManager.newBuilder().setTracing(tracing(100)));
    String traceId = "463ac35c9f6413ad48485a3953bb6124";

    // Not sampled upstream of us (W3C flags 00): nothing is reported, the trace goes on unsampled,
    // in the caller's format (W3C) and the collector's (B3).
    b.get(
        "reviews:9080",
        "/a",
        "traceparent",
        "00-" + traceId + "-0020000000000001-00",
        "x-request-id",
        "given-id");
    Backends.Received seen = b.received.poll();
    assertThat(seen.headers())
        .containsEntry("x-b3-traceid", traceId)
        .containsEntry("x-b3-sampled", "0")
        .containsEntry("x-request-id", "given-id");
    assertThat(seen.headers().get("traceparent")).startsWith("00-" + traceId).endsWith("-00");

    // Sampled by a B3 caller: this trace's spans, the client span a child of the caller's.
    b.get(
        "reviews:9080",
        "/b",
        "x-b3-traceid",
        traceId,
        "x-b3-spanid",
        "a2fb4a1d1a96d312",
        "x-b3-sampled",
        "1");
    await().atMost(Duration.ofSeconds(10)).until(() -> spans.size() >= 2);
    assertThat(spans).allSatisfy(s -> assertThat(s.path("traceId").asText()).isEqualTo(traceId));
    assertThat(spans)
        .anySatisfy(s -> assertThat(s.path("parentId").asText()).isEqualTo("a2fb4a1d1a96d312"));
    // The app sees its server span with the client span as parent, not the caller's ids.
    JsonNode server =
        spans.stream().filter(s -> s.path("kind").asText().equals("SERVER")).findFirst().get();
    Backends.Received sampled = b.received.poll();
    assertThat(sampled.headers())
        .containsEntry("x-b3-spanid", server.path("id").asText())
        .containsEntry("x-b3-parentspanid", server.path("parentId").asText());
  }

  @Test
  void zeroSamplingPropagatesWithoutReporting() throws Exception {
    mesh(
        HttpConnectionManager.newBuilder().setTracing(tracing(0)),
        HttpConnectionManager.newBuilder().setTracing(tracing(100)));
    for (int i = 0; i < 20; i++) {
      b.get("reviews:9080", "/r/" + i);
    }
    assertThat(b.received)
        .hasSize(20)
        .allSatisfy(r -> assertThat(r.headers()).containsEntry("x-b3-sampled", "0"));
    // Flush what the tracers hold: nothing was sampled, so nothing reaches the collector.
    productpageTracers.close();
    reviewsTracers.close();
    assertThat(spans).isEmpty();
  }

  private static AccessLog fileLog(Path file, SubstitutionFormatString format, Integer minStatus) {
    AccessLog.Builder log =
        AccessLog.newBuilder()
            .setName("envoy.access_loggers.file")
            .setTypedConfig(
                Any.pack(
                    FileAccessLog.newBuilder()
                        .setPath(file.toString())
                        .setLogFormat(format)
                        .build()));
    if (minStatus != null) {
      log.setFilter(
          AccessLogFilter.newBuilder()
              .setStatusCodeFilter(
                  StatusCodeFilter.newBuilder()
                      .setComparison(
                          ComparisonFilter.newBuilder()
                              .setOp(ComparisonFilter.Op.GE)
                              .setValue(RuntimeUInt32.newBuilder().setDefaultValue(minStatus)))));
    }
    return log.build();
  }

  private static SubstitutionFormatString text(String format) {
    return SubstitutionFormatString.newBuilder()
        .setTextFormatSource(DataSource.newBuilder().setInlineString(format))
        .build();
  }

  private static List<String> lines(Path file, int count) {
    List<String> out = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> {
              out.clear();
              if (Files.exists(file)) {
                out.addAll(Files.readAllLines(file));
              }
              return out.size() >= count;
            });
    return out;
  }

  @Test
  void accessLogsInIstiosTextFormatAndInJsonWithAFilter() throws Exception {
    Path text = tmp.resolve("client.log");
    Path json = tmp.resolve("server.json");
    Struct.Builder fields = Struct.newBuilder();
    for (var f :
        Map.of(
                "method", "%REQ(:METHOD)%",
                "path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
                "response_code", "%RESPONSE_CODE%",
                "upstream_cluster", "%UPSTREAM_CLUSTER_RAW%",
                "request_id", "%REQ(X-REQUEST-ID)%",
                "user_agent", "%REQ(USER-AGENT)%")
            .entrySet()) {
      fields.putFields(f.getKey(), Value.newBuilder().setStringValue(f.getValue()).build());
    }
    mesh(
        HttpConnectionManager.newBuilder().addAccessLog(fileLog(text, text(ISTIO_TEXT), null)),
        HttpConnectionManager.newBuilder()
            .addAccessLog(
                fileLog(
                    json,
                    SubstitutionFormatString.newBuilder().setJsonFormat(fields).build(),
                    400)));

    b.get("reviews:9080", "/ok", "x-request-id", "req-1", "user-agent", "qmesh-test");
    b.get("reviews:9080", "/status/503", "x-request-id", "req-2", "user-agent", "qmesh-test");
    b.get("nowhere:9080", "/x", "x-request-id", "req-3");

    List<String> client = lines(text, 3);
    assertThat(client.get(0))
        .matches(
            "\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] \"GET /ok HTTP/1.1\" 200 - via_upstream - \"-\" 0 \\d+ \\d+ - \"-\" \"qmesh-test\" \"req-1\" \"reviews:9080\" \"127.0.0.1:"
                + inbound
                + "\" "
                + java.util.regex.Pattern.quote(CLUSTER)
                + " 127.0.0.1:\\d+ 127.0.0.1:\\d+ 127.0.0.1:\\d+ - -");
    assertThat(client.get(1)).contains("\"GET /status/503 HTTP/1.1\" 503 - via_upstream");
    assertThat(client.get(2))
        .contains("\"GET /x HTTP/1.1\" 404 NR route_not_found")
        .contains("\"req-3\"");

    // The server side logs only what is 400 or more: the 503.
    List<String> server = lines(json, 1);
    JsonNode entry = JSON.readTree(server.get(0));
    assertThat(entry.path("method").asText()).isEqualTo("GET");
    assertThat(entry.path("path").asText()).isEqualTo("/status/503");
    assertThat(entry.path("response_code").isNumber()).isTrue();
    assertThat(entry.path("response_code").asInt()).isEqualTo(503);
    assertThat(entry.path("upstream_cluster").asText()).isEqualTo(INBOUND);
    assertThat(entry.path("request_id").asText()).isEqualTo("req-2");
    b.get("reviews:9080", "/status/500");
    assertThat(lines(json, 2)).hasSize(2);
  }

  @Test
  void tcpConnectionsAreAccessLoggedWithTheirBytes() throws Exception {
    int echo = b.tcpEcho();
    Path file = tmp.resolve("tcp.log");
    String cluster = "inbound|27017||";
    ProxyConfig config =
        ProxyConfig.compile(
            new XdsResources(
                Map.of(
                    "virtualInbound",
                    TestXds.listener(
                            27017,
                            "envoy.filters.network.tcp_proxy",
                            io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                                .newBuilder()
                                .setStatPrefix(cluster)
                                .setCluster(cluster)
                                .addAccessLog(fileLog(file, text(ISTIO_TEXT), null))
                                .build())
                        .setName("virtualInbound")
                        .build()),
                Map.of(),
                Map.of(cluster, TestXds.eds(cluster).build()),
                Map.of(cluster, TestXds.cla(cluster, echo))));
    int port =
        Backends.await(new TcpProxy(b.vertx, () -> config, cluster).listen("127.0.0.1", 0))
            .actualPort();
    try (var s = new java.net.Socket("127.0.0.1", port)) {
      s.getOutputStream().write("hello".getBytes(java.nio.charset.StandardCharsets.UTF_8));
      assertThat(s.getInputStream().readNBytes(5)).asString().isEqualTo("hello");
    }
    String line = lines(file, 1).get(0);
    assertThat(line)
        .matches(
            "\\[[^]]+\\] \"- - -\" 0 - - - \"-\" 5 5 \\d+ - \"-\" \"-\" \"-\" \"-\""
                + " \"127.0.0.1:"
                + echo
                + "\" "
                + java.util.regex.Pattern.quote(cluster)
                + " 127.0.0.1:\\d+ 127.0.0.1:"
                + port
                + " 127.0.0.1:\\d+ - -");
  }

  /** Istio's default text format, as pilot sends it. */
  private static final String ISTIO_TEXT = io.qmesh.proxy.telemetry.AccessLogTest.ISTIO_TEXT;

  @Test
  void aFormatWithAnUnknownOperatorIsRefusedNamingIt() {
    XdsResources resources =
        new XdsResources(
            Map.of(
                "0.0.0.0_9080",
                hcm(
                    "0.0.0.0_9080",
                    "9080",
                    HttpConnectionManager.newBuilder()
                        .addAccessLog(
                            fileLog(
                                tmp.resolve("x.log"), text("%METHOD% %NOT_AN_OPERATOR%"), null)))),
            Map.of("9080", TestXds.routes("9080", "reviews", CLUSTER)),
            Map.of(CLUSTER, TestXds.eds(CLUSTER).build()),
            Map.of(CLUSTER, TestXds.cla(CLUSTER, app)));
    assertThatThrownBy(() -> ProxyConfig.compile(resources))
        .hasMessage(
            "listener 0.0.0.0_9080: access log format: unsupported command operator %METHOD%");
  }
}
