package io.qmesh.proxy.route;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The route configs pilot generates for Istio's Bookinfo samples (its golden files) compile here
 * and route as Istio's walkthrough says.
 */
class GoldenRoutesTest {

  private static final Path GOLDEN = Path.of("../pilot/src/test/resources/golden");

  /** Reads pilot's golden JSON, with every typed config pilot writes. */
  private static final JsonFormat.Parser PARSER =
      JsonFormat.parser().usingTypeRegistry(io.qmesh.proxy.Admin.types());

  static Map<String, RouteTable> tables(String sample, String proxy) throws IOException {
    var json =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(GOLDEN.resolve("samples").resolve(sample).resolve(proxy + ".json").toFile());
    Map<String, RouteTable> out = new HashMap<>();
    for (var node : json.path("routes")) {
      RouteConfiguration.Builder rc = RouteConfiguration.newBuilder();
      PARSER.merge(node.toString(), rc);
      out.put(rc.getName(), RouteTable.compile(rc.build()));
    }
    return out;
  }

  private static String cluster(RouteTable t, TestRequest r) {
    return t.match(r).map(m -> ((Action.ToCluster) m.route().action()).cluster()).orElse("NR");
  }

  @Test
  void everyGoldenRouteConfigCompiles() throws IOException {
    try (Stream<Path> files = Files.walk(GOLDEN)) {
      List<Path> jsons = files.filter(f -> f.toString().endsWith(".json")).toList();
      assertThat(jsons).hasSizeGreaterThan(30);
      for (Path f : jsons) {
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(f.toFile());
        for (var node : json.path("routes")) {
          RouteConfiguration.Builder rc = RouteConfiguration.newBuilder();
          PARSER.merge(node.toString(), rc);
          assertThat(RouteTable.compile(rc.build()).name())
              .as(f.toString())
              .isEqualTo(rc.getName());
        }
      }
    }
  }

  @Test
  void everyGoldenProxyConfigCompilesWithItsInboundRoutes() throws Exception {
    var json =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(
                GOLDEN
                    .resolve("samples/virtual-service-reviews-test-v2/productpage.json")
                    .toFile());
    Map<String, io.envoyproxy.envoy.config.listener.v3.Listener> listeners = new HashMap<>();
    Map<String, RouteConfiguration> routes = new HashMap<>();
    Map<String, io.envoyproxy.envoy.config.cluster.v3.Cluster> clusters = new HashMap<>();
    Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints =
        new HashMap<>();
    for (var n : json.path("listeners")) {
      var b = io.envoyproxy.envoy.config.listener.v3.Listener.newBuilder();
      PARSER.merge(n.toString(), b);
      listeners.put(b.getName(), b.build());
    }
    for (var n : json.path("routes")) {
      var b = RouteConfiguration.newBuilder();
      PARSER.merge(n.toString(), b);
      routes.put(b.getName(), b.build());
    }
    for (var n : json.path("clusters")) {
      var b = io.envoyproxy.envoy.config.cluster.v3.Cluster.newBuilder();
      PARSER.merge(n.toString(), b);
      clusters.put(b.getName(), b.build());
    }
    for (var n : json.path("endpoints")) {
      var b = io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.newBuilder();
      PARSER.merge(n.toString(), b);
      endpoints.put(b.getClusterName(), b.build());
    }
    var config =
        io.qmesh.proxy.ProxyConfig.compile(
            new io.qmesh.proxy.xds.XdsResources(listeners, routes, clusters, endpoints));
    assertThat(config.routes()).containsKeys("9080", "inbound|9080||");
    assertThat(
            cluster(
                config.routes().get("inbound|9080||"), TestRequest.get("anything", "/productpage")))
        .isEqualTo("inbound|9080||");
    assertThat(config.clusters().get("inbound|9080||").hosts())
        .extracting(Object::toString)
        .containsExactly("127.0.0.1:9080");
    assertThat(config.clusters().get("outbound|9080|v2|reviews.default.svc.cluster.local").hosts())
        .extracting(Object::toString)
        .containsExactly("10.0.0.4:9080");
  }

  @Test
  void jasonGoesToV2EveryoneElseToV1() throws IOException {
    RouteTable t = tables("virtual-service-reviews-test-v2", "productpage").get("9080");
    for (String host :
        List.of(
            "reviews:9080",
            "reviews",
            "reviews.default.svc.cluster.local:9080",
            "reviews.default")) {
      assertThat(cluster(t, TestRequest.get(host, "/reviews/0").with("end-user", "jason")))
          .isEqualTo("outbound|9080|v2|reviews.default.svc.cluster.local");
      assertThat(cluster(t, TestRequest.get(host, "/reviews/0").with("end-user", "alice")))
          .isEqualTo("outbound|9080|v1|reviews.default.svc.cluster.local");
      assertThat(cluster(t, TestRequest.get(host, "/reviews/0")))
          .isEqualTo("outbound|9080|v1|reviews.default.svc.cluster.local");
    }
    assertThat(cluster(t, TestRequest.get("details:9080", "/details/0")))
        .isEqualTo("outbound|9080||details.default.svc.cluster.local");
    assertThat(cluster(t, TestRequest.get("example.com", "/")))
        .as("allow_any")
        .isEqualTo("PassthroughCluster");
  }

  @Test
  void eightyTwentySplitsByWeight() throws IOException {
    RouteTable t = tables("virtual-service-reviews-80-20", "productpage").get("9080");
    Action.Weighted w =
        (Action.Weighted)
            t.match(TestRequest.get("reviews:9080", "/reviews/0")).orElseThrow().route().action();
    Random random = new Random(7);
    int v1 = 0;
    for (int i = 0; i < 10_000; i++) {
      if (w.clusters().get(w.pick(random)).contains("|v1|")) {
        v1++;
      }
    }
    // Expected 8000; the binomial standard deviation is 40.
    assertThat(v1).isBetween(7800, 8200);
  }

  @Test
  void theBookinfoGatewayRoutesOnlyTheProductPagePaths() throws IOException {
    RouteTable t = tables("bookinfo-gateway", "ingress").get("http.8080");
    String productpage = "outbound|9080||productpage.default.svc.cluster.local";
    for (String path :
        List.of(
            "/productpage",
            "/login",
            "/logout",
            "/static/css/bookinfo.css",
            "/api/v1/products",
            "/api/v1/products/0/reviews")) {
      assertThat(cluster(t, TestRequest.get("127.0.0.1:8080", path)))
          .as(path)
          .isEqualTo(productpage);
    }
    assertThat(cluster(t, TestRequest.get("127.0.0.1:8080", "/productpage?u=normal")))
        .isEqualTo(productpage);
    assertThat(cluster(t, TestRequest.get("127.0.0.1:8080", "/"))).isEqualTo("NR");
    assertThat(cluster(t, TestRequest.get("127.0.0.1:8080", "/productpage/extra"))).isEqualTo("NR");
  }
}
