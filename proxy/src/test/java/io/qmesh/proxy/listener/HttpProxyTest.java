package io.qmesh.proxy.listener;

import static io.qmesh.proxy.listener.TestXds.cla;
import static io.qmesh.proxy.listener.TestXds.eds;
import static io.qmesh.proxy.listener.TestXds.to;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.xds.XdsResources;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The outbound listener over real sockets: a client using it as its HTTP proxy, real backends. */
class HttpProxyTest {

  private static Vertx vertx;
  private static HttpServer v1;
  private static HttpServer v2;
  private static int closedPort;
  private static HttpProxy proxy;
  private static int proxyPort;
  private static final AtomicReference<ProxyConfig> CONFIG = new AtomicReference<>();
  private static HttpClient client;

  private static HttpServer backend(String version) throws Exception {
    return vertx
        .createHttpServer()
        .requestHandler(
            req -> {
              if ("100-continue".equalsIgnoreCase(req.getHeader("expect"))) {
                req.response().writeContinue();
              }
              req.body()
                  .onSuccess(
                      body -> {
                        if (req.uri().equals("/reason")) {
                          req.response().setStatusMessage("Fine Thanks").end();
                          return;
                        }
                        if (req.uri().equals("/big")) {
                          sendBig(req.response());
                          return;
                        }
                        req.response()
                            .end(
                                version
                                    + " "
                                    + req.method()
                                    + " "
                                    + req.uri()
                                    + " host="
                                    + req.getHeader("host")
                                    + " body="
                                    + body.length()
                                    + " x-test="
                                    + req.getHeader("x-test"));
                      });
            })
        .listen(0, "127.0.0.1")
        .toCompletionStage()
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  private static ProxyConfig config(String defaultCluster) {
    RouteConfiguration routes =
        RouteConfiguration.newBuilder()
            .setName("9080")
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("reviews")
                    .addDomains("reviews")
                    .addDomains("reviews:9080")
                    .addRoutes(
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPrefix("/weighted"))
                            .setRoute(
                                RouteAction.newBuilder()
                                    .setWeightedClusters(
                                        WeightedCluster.newBuilder()
                                            .addClusters(
                                                WeightedCluster.ClusterWeight.newBuilder()
                                                    .setName("v1")
                                                    .setWeight(UInt32Value.of(50)))
                                            .addClusters(
                                                WeightedCluster.ClusterWeight.newBuilder()
                                                    .setName("v2")
                                                    .setWeight(UInt32Value.of(50))))))
                    .addRoutes(to("/", defaultCluster)))
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("nohost")
                    .addDomains("nohost:9080")
                    .addRoutes(to("/", "empty")))
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("down")
                    .addDomains("down:9080")
                    .addRoutes(to("/", "down")))
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("ghost")
                    .addDomains("ghost:9080")
                    .addRoutes(to("/", "no-such-cluster")))
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("teapot")
                    .addDomains("teapot:9080")
                    .addRoutes(
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setDirectResponse(
                                DirectResponseAction.newBuilder()
                                    .setStatus(418)
                                    .setBody(
                                        DataSource.newBuilder()
                                            .setInlineString("short and stout")))))
            .build();
    return ProxyConfig.compile(
        new XdsResources(
            Map.of(),
            Map.of("9080", routes),
            Map.of(
                "v1",
                eds("v1").setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN).build(),
                "v2",
                eds("v2").setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN).build(),
                "empty",
                eds("empty").setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN).build(),
                "down",
                eds("down").setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN).build()),
            Map.of(
                "v1",
                cla("v1", v1.actualPort()),
                "v2",
                cla("v2", v2.actualPort()),
                "empty",
                ClusterLoadAssignment.newBuilder().setClusterName("empty").build(),
                "down",
                cla("down", closedPort))));
  }

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    v1 = backend("v1");
    v2 = backend("v2");
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    CONFIG.set(config("v1"));
    proxy = HttpProxy.outbound(vertx, CONFIG::get);
    proxyPort =
        proxy
            .listen("127.0.0.1", 0)
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS)
            .actualPort();
    client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", proxyPort)))
            .build();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create(url)).header("x-test", "kept").build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void hopByHopHeadersAreKnownInAnyCase() {
    for (String h :
        new String[] {
          "Connection",
          "keep-alive",
          "Proxy-Connection",
          "PROXY-AUTHORIZATION",
          "te",
          "Trailer",
          "Transfer-Encoding",
          "upgrade"
        }) {
      assertThat(HttpProxy.hopByHop(h)).as(h).isTrue();
    }
    for (String h : new String[] {"content-length", "x-test", "host", "tx", "trailers"}) {
      assertThat(HttpProxy.hopByHop(h)).as(h).isFalse();
    }
    // As HTTP/1.1's decoder hands them over, not copied into Strings.
    assertThat(HttpProxy.hopByHop(io.netty.util.AsciiString.of("Transfer-Encoding"))).isTrue();
    assertThat(HttpProxy.hopByHop(io.netty.util.AsciiString.of("x-test"))).isFalse();
    assertThat(
            HttpProxy.isTeTrailers(
                io.netty.util.AsciiString.of("TE"), io.netty.util.AsciiString.of(" trailers ")))
        .isTrue();
    assertThat(HttpProxy.isTeTrailers("te", "gzip")).isFalse();
  }

  @Test
  void relaysTheUpstreamsOwnReasonPhrase() throws Exception {
    assertThat(rawGet("/reason")).startsWith("HTTP/1.1 200 Fine Thanks\r\n");
    assertThat(rawGet("/reviews/1")).startsWith("HTTP/1.1 200 OK\r\n");
  }

  /** What {@code /big} answers: 32 MiB in 64 KiB chunks, each written when the queue has room. */
  private static final int BIG = 32 << 20;

  private static final AtomicLong bigSent = new AtomicLong();
  private static final AtomicBoolean bigDone = new AtomicBoolean();

  private static void sendBig(HttpServerResponse response) {
    response.putHeader("content-length", String.valueOf(BIG));
    Buffer chunk = Buffer.buffer(new byte[64 << 10]);
    Runnable[] more = new Runnable[1];
    more[0] =
        () -> {
          while (bigSent.get() < BIG && !response.writeQueueFull()) {
            response.write(chunk);
            bigSent.addAndGet(chunk.length());
          }
          if (bigSent.get() >= BIG) {
            response.end();
            bigDone.set(true);
          } else {
            response.drainHandler(v -> more[0].run());
          }
        };
    more[0].run();
  }

  @Test
  void aClientThatDoesNotReadHoldsTheUpstreamBack() throws Exception {
    bigSent.set(0);
    bigDone.set(false);
    try (Socket s = new Socket("127.0.0.1", proxyPort)) {
      s.getOutputStream()
          .write(
              "GET /big HTTP/1.1\r\nHost: reviews:9080\r\nConnection: close\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      // While the client reads nothing, the proxy stops reading the upstream, so the backend's
      // writes stall long before the 32 MiB are out (a proxy that buffered it all would let the
      // backend finish at once).
      Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> bigSent.get() > 0);
      Awaitility.await()
          .during(1, TimeUnit.SECONDS)
          .atMost(2, TimeUnit.SECONDS)
          .until(() -> !bigDone.get());
      long body = 0;
      InputStream in = s.getInputStream();
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        body += n;
      }
      assertThat(bigDone).isTrue();
      assertThat(body).isGreaterThan(BIG).isLessThan(BIG + 1024);
    }
  }

  private static String rawGet(String path) throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxyPort)) {
      s.getOutputStream()
          .write(
              ("GET " + path + " HTTP/1.1\r\nHost: reviews:9080\r\nConnection: close\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }
  }

  @Test
  void forwardsAProxiedRequestToTheRoutedCluster() throws Exception {
    HttpResponse<String> r = get("http://reviews:9080/reviews/0?x=1");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("v1 GET /reviews/0?x=1 host=reviews:9080 body=0 x-test=kept");
  }

  @Test
  void streamsRequestBodies() throws Exception {
    byte[] payload = new byte[300_000];
    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(URI.create("http://reviews:9080/upload"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(payload))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.body()).startsWith("v1 POST /upload").contains("body=300000");
  }

  @Test
  void takesTheTransparentFormByHostHeader() throws Exception {
    HttpClient direct = HttpClient.newHttpClient();
    HttpResponse<String> r =
        direct.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/reviews/1"))
                .header("x-test", "t")
                .build(),
            HttpResponse.BodyHandlers.ofString());
    // The Host header (127.0.0.1:<port>) names no route; a sidecar on Kubernetes sees the service's
    // host.
    assertThat(r.statusCode()).isEqualTo(404);
    try (Socket s = new Socket("127.0.0.1", proxyPort)) {
      s.getOutputStream()
          .write(
              "GET /reviews/1 HTTP/1.1\r\nHost: reviews:9080\r\nConnection: close\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(answer).startsWith("HTTP/1.1 200").contains("v1 GET /reviews/1 host=reviews:9080");
    }
  }

  @Test
  void failuresCarryTheStageAndFlag() throws Exception {
    assertThat(get("http://unknown:9080/"))
        .satisfies(
            r -> {
              assertThat(r.statusCode()).isEqualTo(404);
              assertThat(r.body()).isEqualTo("no route (NR)\n");
            });
    assertThat(get("http://reviews:1234/").statusCode())
        .as("no route config for the port")
        .isEqualTo(404);
    assertThat(get("http://nohost:9080/"))
        .satisfies(
            r -> {
              assertThat(r.statusCode()).isEqualTo(503);
              assertThat(r.body()).isEqualTo("no healthy upstream (UH)\n");
            });
    assertThat(get("http://down:9080/"))
        .satisfies(
            r -> {
              assertThat(r.statusCode()).isEqualTo(503);
              assertThat(r.body()).contains("(UF)");
            });
    assertThat(get("http://ghost:9080/").body()).isEqualTo("no cluster (NC)\n");
    assertThat(get("http://teapot:9080/"))
        .satisfies(
            r -> {
              assertThat(r.statusCode()).isEqualTo(418);
              assertThat(r.body()).isEqualTo("short and stout");
            });
  }

  @Test
  void passthroughGoesToTheOriginalDestination() throws Exception {
    ProxyConfig before = CONFIG.get();
    try {
      Cluster passthrough =
          Cluster.newBuilder()
              .setName("PassthroughCluster")
              .setType(Cluster.DiscoveryType.ORIGINAL_DST)
              .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
              .build();
      RouteConfiguration routes =
          RouteConfiguration.newBuilder()
              .setName("9080")
              .addVirtualHosts(
                  VirtualHost.newBuilder()
                      .setName("allow_any")
                      .addDomains("*")
                      .addRoutes(to("/", "PassthroughCluster")))
              .build();
      CONFIG.set(
          ProxyConfig.compile(
              new XdsResources(
                  Map.of(),
                  Map.of("9080", routes),
                  Map.of("PassthroughCluster", passthrough),
                  Map.of())));
      // A port without a route config passes through, and so does allow_any on a known port.
      assertThat(get("http://127.0.0.1:" + v2.actualPort() + "/direct").body())
          .startsWith("v2 GET /direct host=127.0.0.1:" + v2.actualPort());
      assertThat(get("http://127.0.0.1:" + closedPort + "/").statusCode()).isEqualTo(503);
      // Passed through, a request for the listener itself would come back to it without end.
      for (String self : List.of("127.0.0.1", "localhost", "[::1]")) {
        assertThat(get("http://" + self + ":" + proxyPort + "/loop"))
            .satisfies(
                r -> {
                  assertThat(r.statusCode()).isEqualTo(503);
                  assertThat(r.body()).isEqualTo("no healthy upstream (UH)\n");
                });
      }
    } finally {
      CONFIG.set(before);
    }
  }

  @Test
  void weightsSplitTraffic() throws Exception {
    int v2Count = 0;
    for (int i = 0; i < 400; i++) {
      if (get("http://reviews:9080/weighted").body().startsWith("v2")) {
        v2Count++;
      }
    }
    // Expected 200, standard deviation 10.
    assertThat(v2Count).isBetween(150, 250);
  }

  @Test
  void aNewConfigTakesEffectForTheNextRequest() throws Exception {
    ProxyConfig before = CONFIG.get();
    try {
      CONFIG.set(config("v2"));
      assertThat(get("http://reviews:9080/x").body()).startsWith("v2 ");
    } finally {
      CONFIG.set(before);
    }
    assertThat(get("http://reviews:9080/x").body()).startsWith("v1 ");
  }

  @Test
  void theInboundSideRoutesEveryRequestWithItsOwnRouteConfig() throws Exception {
    var hcm =
        io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3
            .HttpConnectionManager.newBuilder()
            .setStatPrefix("inbound_0.0.0.0_9080")
            .setRouteConfig(
                RouteConfiguration.newBuilder()
                    .setName("inbound|9080||")
                    .addVirtualHosts(
                        VirtualHost.newBuilder()
                            .setName("inbound|http|9080")
                            .addDomains("*")
                            .addRoutes(to("/", "inbound|9080||"))))
            .build();
    var inboundListener =
        io.envoyproxy.envoy.config.listener.v3.Listener.newBuilder()
            .setName("virtualInbound")
            .addFilterChains(
                io.envoyproxy.envoy.config.listener.v3.FilterChain.newBuilder()
                    .addFilters(
                        io.envoyproxy.envoy.config.listener.v3.Filter.newBuilder()
                            .setName("envoy.filters.network.http_connection_manager")
                            .setTypedConfig(com.google.protobuf.Any.pack(hcm))))
            .build();
    Cluster app =
        Cluster.newBuilder()
            .setName("inbound|9080||")
            .setType(Cluster.DiscoveryType.STATIC)
            .setLoadAssignment(cla("inbound|9080||", v2.actualPort()))
            .build();
    ProxyConfig inboundConfig =
        ProxyConfig.compile(
            new XdsResources(
                Map.of("virtualInbound", inboundListener),
                Map.of(),
                Map.of("inbound|9080||", app),
                Map.of()));
    HttpProxy inbound = HttpProxy.withRoutes(vertx, () -> inboundConfig, "inbound|9080||");
    int port =
        inbound
            .listen("127.0.0.1", 0)
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS)
            .actualPort();
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/reviews/0"))
                    .header("x-test", "in")
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body())
        .isEqualTo("v2 GET /reviews/0 host=127.0.0.1:" + port + " body=0 x-test=in");
  }

  @Test
  void aRequestWithTwoHostHeadersGets400AndTheConnectionCloses() throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxyPort)) {
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("GET / HTTP/1.1\r\nHost: reviews:9080\r\nhost: 127.0.0.1:" + proxyPort + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(answer)
          .startsWith("HTTP/1.1 400")
          .containsIgnoringCase("connection: close")
          .endsWith("more than one Host header (DPE)\n");
    }
    assertThat(get("http://reviews:9080/still-serving").statusCode()).isEqualTo(200);
  }

  @Test
  void aMalformedRequestGets400() throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxyPort)) {
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      out.write("THIS IS NOT HTTP\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      String answer = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
      // Vert.x answers in HTTP/1.0 when it cannot read the request line's version.
      assertThat(answer).matches("HTTP/1\\.[01] 400");
    }
    assertThat(get("http://reviews:9080/still-serving").statusCode()).isEqualTo(200);
  }

  @Test
  void theUpstreamsContinueReachesAClientWaitingForItBeforeItsBody() throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxyPort)) {
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("POST /upload HTTP/1.1\r\nHost: reviews:9080\r\nExpect: 100-continue\r\n"
                  + "Content-Length: 5\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      String interim = new String(in.readNBytes(25), StandardCharsets.US_ASCII);
      assertThat(interim).isEqualTo("HTTP/1.1 100 Continue\r\n\r\n");
      out.write("hello".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      byte[] answer = new byte[4096];
      int n = in.read(answer);
      assertThat(new String(answer, 0, n, StandardCharsets.US_ASCII))
          .startsWith("HTTP/1.1 200")
          .contains("POST /upload host=reviews:9080 body=5");
    }
  }
}
