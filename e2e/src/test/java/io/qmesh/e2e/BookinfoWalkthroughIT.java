package io.qmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.HttpConnectProxiedSocketAddress;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Istio's Bookinfo walkthrough on the laptop mode: {@code ./qmesh up --detach} starts the mesh and
 * Bookinfo once, then each step applies Istio's own sample files with {@code ./qmesh apply -f} and
 * checks what the product page shows through the ingress gateway, as the walkthrough's reader
 * would. The mesh is stopped with {@code ./qmesh down} however the tests end, and no process may
 * outlive it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BookinfoWalkthroughIT {

  private static final Path ROOT =
      Path.of(System.getProperty("qmesh.root", "..")).toAbsolutePath().normalize();

  /** Istio's originals: the suite reads them, not copies. */
  private static final Path SAMPLES =
      ROOT.resolve("../shared/istio-samples/bookinfo/networking").normalize();

  private static final Pattern SERVED_BY = Pattern.compile("Reviews served by:</dt><u>([^<]+)</u>");
  private static final String PRODUCT_PAGE = "http://127.0.0.1:8080/productpage";
  private static final String REVIEWS_UNAVAILABLE =
      "Sorry, product reviews are currently unavailable for this book.";
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<Long> PIDS = new ArrayList<>();

  private static Qmesh qmesh;

  @BeforeAll
  static void up() throws Exception {
    assertThat(SAMPLES.resolve("bookinfo-gateway.yaml"))
        .as("Istio's samples must be in ../shared beside the repository")
        .exists();
    Path work = ROOT.resolve("e2e/target/walkthrough");
    Files.createDirectories(work);
    if (Files.exists(work.resolve(".qmesh"))) {
      new Qmesh(ROOT, work).run("down");
      new Qmesh(ROOT, work).run("reset");
    }
    qmesh = new Qmesh(ROOT, work);
    long t0 = System.nanoTime();
    Qmesh.Result up = qmesh.run("up", "--detach");
    recordPids();
    System.out.printf(
        "qmesh up --detach: exit %d after %.1f s%n%s%n",
        up.code(), (System.nanoTime() - t0) / 1e9, up.output());
    assertThat(up.code()).as(up.output()).isZero();
    assertThat(up.output()).contains(PRODUCT_PAGE);
  }

  @AfterAll
  static void down() throws Exception {
    if (qmesh == null) {
      return;
    }
    recordPids();
    Qmesh.Result down = qmesh.run("down");
    List<Long> left =
        PIDS.stream()
            .filter(p -> ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false))
            .toList();
    left.forEach(p -> ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly));
    assertThat(down.code()).as(down.output()).isZero();
    assertThat(left).as("processes left after qmesh down").isEmpty();
  }

  private static void recordPids() throws IOException {
    Path mesh = qmesh.workDir().resolve(".qmesh/mesh.json");
    if (Files.exists(mesh)) {
      for (JsonNode c : JSON.readTree(mesh.toFile())) {
        long pid = c.path("pid").asLong();
        if (!PIDS.contains(pid)) {
          PIDS.add(pid);
        }
      }
    }
  }

  @Test
  @Order(10)
  void theMeshIsUpAndSynced() throws Exception {
    Qmesh.Result status = qmesh.run("status", "-o", "json");
    assertThat(status.code()).as(status.output()).isZero();
    Map<String, String> states = new TreeMap<>();
    JSON.readTree(status.output())
        .forEach(c -> states.put(c.path("name").asText(), c.path("state").asText()));
    assertThat(states)
        .containsKeys(
            "pilot",
            "istio-ingressgateway",
            "istio-egressgateway",
            "productpage-v1",
            "productpage-v1-sidecar",
            "details-v1",
            "ratings-v1",
            "reviews-v1",
            "reviews-v2",
            "reviews-v3-sidecar",
            "prometheus",
            "zipkin")
        .as(
            "15 mesh components and the addons; Prometheus comes from `apt-get install"
                + " prometheus`, Zipkin from e2e/pom.xml")
        .hasSize(17);
    assertThat(Set.copyOf(states.values())).containsExactly("ready");

    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> {
              String ps = qmesh.run("proxy-status").output();
              assertThat(ps.lines().skip(1).count()).as(ps).isEqualTo(8);
              assertThat(ps).doesNotContain("STALE").doesNotContain("NACKED");
            });

    Qmesh.Result again = qmesh.run("up", "--detach");
    assertThat(again.code()).isEqualTo(1);
    assertThat(again.output()).contains("qmesh is already running here");
  }

  @Test
  @Order(20)
  void productPageThroughTheIngressAndFromInsideRatings() throws Exception {
    assertThat(productPage(null))
        .contains("<title>Simple Bookstore App</title>")
        .contains("<dd>paperback</dd>")
        .doesNotContain("Sorry");

    // Istio's: kubectl exec ratings -- curl -sS productpage:9080/productpage
    Qmesh.Result exec =
        qmesh.run("exec", "ratings-v1", "--", "curl", "-sS", "productpage:9080/productpage");
    assertThat(exec.code()).as(exec.output()).isZero();
    assertThat(exec.output()).contains("<title>Simple Bookstore App</title>");
  }

  @Test
  @Order(25)
  void eachSidecarReportsIstiosMetricsOnItsMergedPort() throws Exception {
    int stats = -1;
    for (JsonNode c : JSON.readTree(qmesh.run("status", "-o", "json").output())) {
      if (c.path("name").asText().equals("productpage-v1-sidecar")) {
        stats = c.path("ports").path("stats").asInt();
      }
    }
    assertThat(stats).isPositive();
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stats + "/stats/prometheus"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    // What productpage received from the ingress gateway, and what it sent to reviews.
    assertThat(r.body())
        .containsPattern(
            "istio_requests_total\\{[^}]*destination_workload=\"productpage-v1\"[^}]*"
                + "reporter=\"destination\"[^}]*source_workload=\"istio-ingressgateway\"")
        .containsPattern(
            "istio_requests_total\\{[^}]*destination_service=\"reviews.default.svc.cluster.local\""
                + "[^}]*destination_workload=\"reviews-v[123]\"[^}]*reporter=\"source\"[^}]*"
                + "source_workload=\"productpage-v1\"");
  }

  @Test
  @Order(26)
  void prometheusSeesEachReviewsVersionAndEveryDashboardQueryAnswers() throws Exception {
    Qmesh.Result url = qmesh.run("dashboard", "prometheus");
    assertThat(url.code()).as(url.output()).isZero();
    assertThat(url.output().strip()).isEqualTo("http://127.0.0.1:9090/");
    String query =
        "sum(rate(istio_requests_total{reporter=\"destination\",destination_service_name=\"reviews\"}[1m]))"
            + " by (destination_version)";
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofSeconds(2))
        .untilAsserted(
            () -> {
              // Bookinfo traffic (reviews spreads over v1-v3) and a 404 at the ingress.
              for (int i = 0; i < 10; i++) {
                productPage(null);
              }
              HTTP.send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:8080/no-such-page")).build(),
                  HttpResponse.BodyHandlers.discarding());
              Set<String> versions = new java.util.TreeSet<>();
              promQuery(query)
                  .forEach(
                      r -> versions.add(r.path("metric").path("destination_version").asText()));
              assertThat(versions).containsExactly("v1", "v2", "v3");
            });

    // Every panel of every dashboard: the query parses and returns data. Template variables take
    // their "All" value, as Grafana's default. Rates need two scrapes of a series: traffic goes on
    // until every query has its data.
    Map<String, String> exprs = new java.util.LinkedHashMap<>();
    try (var files = Files.list(ROOT.resolve("addons/grafana/dashboards"))) {
      for (Path f : files.sorted().toList()) {
        for (JsonNode panel : JSON.readTree(f.toFile()).path("panels")) {
          for (JsonNode target : panel.path("targets")) {
            exprs.put(
                f.getFileName()
                    + " / "
                    + panel.path("title").asText()
                    + " / "
                    + target.path("refId").asText(),
                target
                    .path("expr")
                    .asText()
                    .replace("$__rate_interval", "1m")
                    .replaceAll("\\$(service|workload|namespace)\\b", ".*"));
          }
        }
      }
    }
    assertThat(exprs).hasSizeGreaterThan(30);
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(3))
        .untilAsserted(
            () -> {
              productPage(null);
              HTTP.send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:8080/no-such-page")).build(),
                  HttpResponse.BodyHandlers.discarding());
              List<String> empty = new ArrayList<>();
              exprs.forEach(
                  (panel, expr) -> {
                    try {
                      if (promQuery(expr).isEmpty()) {
                        empty.add(panel + ": " + expr);
                      }
                    } catch (Exception ex) {
                      throw new IllegalStateException(ex);
                    }
                  });
              assertThat(empty).as("dashboard queries without data").isEmpty();
            });
  }

  /** A query through Prometheus' HTTP API: its result vector (a refused query fails the test). */
  private static List<JsonNode> promQuery(String promql) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:9090/api/v1/query?query="
                            + java.net.URLEncoder.encode(promql, StandardCharsets.UTF_8)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(promql + " -> " + r.body()).isEqualTo(200);
    JsonNode body = JSON.readTree(r.body());
    assertThat(body.path("status").asText()).as(r.body()).isEqualTo("success");
    List<JsonNode> out = new ArrayList<>();
    body.path("data").path("result").forEach(out::add);
    return out;
  }

  @Test
  @Order(27)
  void aProductPageRequestIsOneTraceInZipkinWithTheRightParents() throws Exception {
    assertThat(qmesh.run("dashboard", "zipkin").output().strip())
        .isEqualTo("http://127.0.0.1:9411/zipkin/");
    // A caller's sampled W3C context (ours), until reviews v2 or v3 answers, so that the trace
    // goes on to ratings.
    String traceId = null;
    String page = "";
    for (int i = 0; i < 30 && !page.contains("glyphicon-star"); i++) {
      traceId = String.format("%032x", new java.util.Random().nextLong() & Long.MAX_VALUE);
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(PRODUCT_PAGE))
                  .header("traceparent", "00-" + traceId + "-00f067aa0ba902b7-01")
                  .header("x-request-id", "e2e-trace-" + i)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      page = r.body();
    }
    assertThat(page).contains("glyphicon-star");
    String id = traceId;
    List<JsonNode> spans = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              spans.clear();
              HttpResponse<String> r =
                  HTTP.send(
                      HttpRequest.newBuilder(URI.create("http://127.0.0.1:9411/api/v2/trace/" + id))
                          .build(),
                      HttpResponse.BodyHandlers.ofString());
              assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
              JSON.readTree(r.body()).forEach(spans::add);
              // ingress, productpage in and out (details, reviews), details, reviews in and out,
              // ratings.
              assertThat(spans).hasSize(8);
            });
    Map<String, JsonNode> byId = new TreeMap<>();
    spans.forEach(s -> byId.put(s.path("id").asText(), s));
    java.util.function.Function<JsonNode, String> who =
        s ->
            s.path("localEndpoint").path("serviceName").asText()
                + " "
                + s.path("kind").asText()
                + " "
                + s.path("name").asText();
    Map<String, String> parentOf = new TreeMap<>();
    for (JsonNode s : spans) {
      JsonNode parent = byId.get(s.path("parentId").asText());
      parentOf.put(who.apply(s), parent == null ? s.path("parentId").asText() : who.apply(parent));
    }
    String pp = "productpage.default.svc.cluster.local:9080/*";
    String details = "details.default.svc.cluster.local:9080/*";
    String reviews = "reviews.default.svc.cluster.local:9080/*";
    String ratings = "ratings.default.svc.cluster.local:9080/*";
    assertThat(parentOf)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "istio-ingressgateway.istio-system CLIENT " + pp, "00f067aa0ba902b7",
                "productpage.default SERVER " + pp,
                    "istio-ingressgateway.istio-system CLIENT " + pp,
                "productpage.default CLIENT " + details, "productpage.default SERVER " + pp,
                "details.default SERVER " + details, "productpage.default CLIENT " + details,
                "productpage.default CLIENT " + reviews, "productpage.default SERVER " + pp,
                "reviews.default SERVER " + reviews, "productpage.default CLIENT " + reviews,
                "reviews.default CLIENT " + ratings, "reviews.default SERVER " + reviews,
                "ratings.default SERVER " + ratings, "reviews.default CLIENT " + ratings));
    // Istio's tags on the way.
    JsonNode ingress =
        spans.stream()
            .filter(s -> s.path("kind").asText().equals("CLIENT"))
            .filter(
                s ->
                    s.path("localEndpoint")
                        .path("serviceName")
                        .asText()
                        .startsWith("istio-ingress"))
            .findFirst()
            .orElseThrow();
    assertThat(ingress.path("tags").path("http.status_code").asText()).isEqualTo("200");
    assertThat(ingress.path("tags").path("upstream_cluster").asText())
        .isEqualTo("outbound|9080||productpage.default.svc.cluster.local");
    assertThat(ingress.path("tags").path("istio.canonical_service").asText())
        .isEqualTo("istio-ingressgateway");

    // The demo profile's access logs: each hop logs the request, with its id, in its log. From
    // the gateway it came over mutual TLS, multiplexed on HTTP/2 (ALPN).
    String log =
        Files.readString(qmesh.workDir().resolve(".qmesh/logs/productpage-v1-sidecar.log"));
    assertThat(log)
        .containsPattern(
            "\"GET /productpage HTTP/2\" 200 - via_upstream .* \"e2e-trace-[0-9]+\""
                + " \"127.0.0.1:8080\" .* inbound\\|9080\\|\\|");
  }

  @Test
  @Order(30)
  void withoutRulesReviewsSpreadsOverItsThreeVersions() throws Exception {
    assertThat(servedBy(60, null).keySet())
        .containsExactlyInAnyOrder("reviews-v1", "reviews-v2", "reviews-v3");
  }

  @Test
  @Order(40)
  void allV1PinsReviewsV1() throws Exception {
    apply("destination-rule-all.yaml");
    apply("virtual-service-all-v1.yaml");
    awaitOnly("reviews-v1");
    assertThat(servedBy(40, null).keySet()).containsExactly("reviews-v1");

    assertThat(qmesh.run("get", "virtualservices").output())
        .contains("reviews")
        .contains("productpage")
        .contains("[bookinfo-gateway]");
    assertThat(qmesh.run("proxy-config", "clusters", "productpage-v1").output())
        .containsPattern("reviews.default.svc.cluster.local\\s+9080\\s+v2\\s+outbound\\s+EDS");
  }

  @Test
  @Order(50)
  void v2AndV3HalfAndHalf() throws Exception {
    apply("virtual-service-reviews-v2-v3.yaml");
    awaitNo("reviews-v1");
    Map<String, Integer> seen = servedBy(300, null);
    assertThat(seen).doesNotContainKey("reviews-v1");
    assertShare(seen, "reviews-v2", 300, 50);
    assertShare(seen, "reviews-v3", 300, 50);
  }

  @Test
  @Order(60)
  void jasonSeesV2AndEveryoneElseV1() throws Exception {
    apply("virtual-service-reviews-test-v2.yaml");
    String jason = login("jason");
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> servedBy(5, jason).keySet().equals(Set.of("reviews-v2")));
    assertThat(productPage(jason))
        .contains("<span class=\"user\">jason</span>")
        .contains("<font color=\"black\">");
    assertThat(servedBy(30, null).keySet()).containsExactly("reviews-v1");
    assertThat(servedBy(10, login("alice")).keySet()).containsExactly("reviews-v1");
  }

  @Test
  @Order(61)
  void aDelayForJasonOnRatingsTimesOutProductpagesCallsToReviews() throws Exception {
    // Istio's fault-injection task: all-v1 and test-v2 are in force (jason reaches reviews-v2,
    // which calls ratings); ratings now waits 7 s for jason. productpage gives reviews 3 s and one
    // retry, so jason's page says reviews are unavailable after about 6 s.
    apply("virtual-service-ratings-test-delay.yaml");
    String jason = login("jason");
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> productPage(jason).contains(REVIEWS_UNAVAILABLE));
    long start = System.nanoTime();
    String page = productPage(jason);
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(page).contains(REVIEWS_UNAVAILABLE);
    assertThat(tookMs).isBetween(5_000L, 9_000L);

    start = System.nanoTime();
    String other = productPage(null);
    assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(2_000L);
    assertThat(other).doesNotContain(REVIEWS_UNAVAILABLE).contains("Reviews served by");
  }

  @Test
  @Order(62)
  void anAbortForJasonOnRatingsShowsRatingsUnavailable() throws Exception {
    apply("virtual-service-ratings-test-abort.yaml");
    String jason = login("jason");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> productPage(jason).contains("Ratings service is currently unavailable"));
    assertThat(productPage(jason)).contains("reviews-v2");
    assertThat(productPage(null))
        .doesNotContain("Ratings service is currently unavailable")
        .contains("Reviews served by");
  }

  @Test
  @Order(63)
  void anAbortOnDetailsShowsDetailsUnavailable() throws Exception {
    apply("fault-injection-details-v1.yaml");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                productPage(null)
                    .contains("Sorry, product details are currently unavailable for this book."));
    // Back to the walkthrough's rules: details without the fault, its subsets from
    // destination-rule-all.
    apply("virtual-service-all-v1.yaml");
    apply("destination-rule-all.yaml");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> !productPage(null).contains("product details are currently unavailable"));
  }

  @Test
  @Order(64)
  void aRouteTimeoutOnReviewsCutsASlowRatingsCall() throws Exception {
    // Istio's request-timeouts task: reviews-v2 (which calls ratings), ratings delayed 2 s, then
    // a 0.5 s timeout on reviews: productpage gets 504s fast and answers in about 1 s.
    String routes =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v2}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: ratings
        spec:
          hosts: [ratings]
          http:
          - fault:
              delay:
                percentage: {value: 100}
                fixedDelay: 2s
            route:
            - destination: {host: ratings, subset: v1}
        """;
    Qmesh.Result applied = qmesh.input(routes, "apply", "-f", "-");
    assertThat(applied.code()).as(applied.output()).isZero();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              long start = System.nanoTime();
              String page = productPage(null);
              return page.contains("reviews-v2") && System.nanoTime() - start > 1_900_000_000L;
            });

    String timeout =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v2}
            timeout: 0.5s
        """;
    applied = qmesh.input(timeout, "apply", "-f", "-");
    assertThat(applied.code()).as(applied.output()).isZero();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> productPage(null).contains(REVIEWS_UNAVAILABLE));
    long start = System.nanoTime();
    String page = productPage(null);
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(page).contains(REVIEWS_UNAVAILABLE);
    assertThat(tookMs).isLessThan(1_500L);

    apply("virtual-service-all-v1.yaml");
    awaitOnly("reviews-v1");
  }

  @Test
  @Order(70)
  void weightedShiftsLandWithinTenPoints() throws Exception {
    apply("virtual-service-reviews-90-10.yaml");
    awaitSeen("reviews-v2");
    Map<String, Integer> s = servedBy(300, null);
    assertThat(s.keySet()).isSubsetOf("reviews-v1", "reviews-v2");
    assertShare(s, "reviews-v1", 300, 90);

    apply("virtual-service-reviews-80-20.yaml");
    // 90-10 and 80-20 look alike from outside: wait until productpage's sidecar runs 80-20.
    await()
        .atMost(Duration.ofSeconds(15))
        .until(
            () ->
                qmesh
                    .run("proxy-config", "routes", "productpage-v1")
                    .output()
                    .contains("outbound|9080|v1|reviews.default.svc.cluster.local 80%"));
    s = servedBy(300, null);
    assertThat(s.keySet()).isSubsetOf("reviews-v1", "reviews-v2");
    assertShare(s, "reviews-v1", 300, 80);

    apply("virtual-service-reviews-50-v3.yaml");
    awaitNo("reviews-v2");
    s = servedBy(300, null);
    assertThat(s.keySet()).isSubsetOf("reviews-v1", "reviews-v3");
    assertShare(s, "reviews-v3", 300, 50);

    apply("virtual-service-reviews-v3.yaml");
    awaitOnly("reviews-v3");
    assertThat(servedBy(40, null).keySet()).containsExactly("reviews-v3");
    assertThat(productPage(null)).contains("<font color=\"red\">");
  }

  @Test
  @Order(80)
  void aRefusedApplyNamesTheFieldAndChangesNothing() throws Exception {
    String bad =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v1}
              weight: -5
        """;
    Qmesh.Result r = qmesh.input(bad, "apply", "-f", "-");
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.output()).contains("VirtualService default/reviews").contains("weight");
    assertThat(servedBy(20, null).keySet()).containsExactly("reviews-v3");
  }

  @Test
  @Order(90)
  void deletingTheRulesRestoresTheDefaultSpread() throws Exception {
    Qmesh.Result del =
        qmesh.run(
            "delete",
            "-f",
            SAMPLES.resolve("virtual-service-all-v1.yaml").toString(),
            "-f",
            SAMPLES.resolve("destination-rule-all.yaml").toString());
    assertThat(del.code()).as(del.output()).isZero();
    assertThat(del.output())
        .contains("virtualservice.networking.istio.io/reviews deleted")
        .contains("destinationrule.networking.istio.io/reviews deleted");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                servedBy(30, null)
                    .keySet()
                    .equals(Set.of("reviews-v1", "reviews-v2", "reviews-v3")));
  }

  @Test
  @Order(100)
  void yourOwnServiceJoinsTheMeshWithQmeshRun() throws Exception {
    for (String v : List.of("v1", "v2")) {
      Qmesh.Result run = runEcho("echo-" + v, "echo", v, "http", "8080");
      assertThat(run.code()).as(run.output()).isZero();
      assertThat(run.output()).contains("other workloads reach it as http://echo:8080");
    }
    String routing =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: echo
        spec:
          host: echo
          subsets:
          - name: v1
            labels: {version: v1}
          - name: v2
            labels: {version: v2}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: echo
        spec:
          hosts: [echo]
          http:
          - match:
            - headers:
                x-canary: {exact: "yes"}
            route:
            - destination: {host: echo, subset: v2}
          - route:
            - destination: {host: echo, subset: v1}
        """;
    Qmesh.Result applied = qmesh.input(routing, "apply", "-f", "-");
    assertThat(applied.code()).as(applied.output()).isZero();
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              assertThat(curlFromProductPage("-H", "x-canary: yes", "http://echo:8080/"))
                  .contains("ServiceVersion=v2");
              assertThat(curlFromProductPage("echo:8080/")).contains("ServiceVersion=v1");
            });

    Qmesh.Result stop = qmesh.run("stop", "echo-v2");
    assertThat(stop.code()).as(stop.output()).isZero();
    assertThat(qmesh.run("status").output()).doesNotContain("echo-v2");
  }

  @Test
  @Order(110)
  void grpcCrossesTheSidecarsOverHttp2() throws Exception {
    Qmesh.Result run = runEcho("echo-grpc-v1", "echo-grpc", "v1", "grpc", "7070");
    assertThat(run.code()).as(run.output()).isZero();
    // A grpc-java client inside productpage-v1: its sidecar's outbound port is its proxy, which
    // grpc-java reaches with CONNECT (as GRPC_PROXY_EXP, set by qmesh for every workload, says).
    InetSocketAddress proxy = new InetSocketAddress("127.0.0.1", outboundPort("productpage-v1"));
    ManagedChannel channel =
        NettyChannelBuilder.forTarget("dns:///echo-grpc:7070")
            .proxyDetector(
                target ->
                    HttpConnectProxiedSocketAddress.newBuilder()
                        .setTargetAddress((InetSocketAddress) target)
                        .setProxyAddress(proxy)
                        .build())
            .usePlaintext()
            .build();
    try {
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(500))
          .ignoreExceptions()
          .untilAsserted(
              () ->
                  assertThat(
                          new String(
                              ClientCalls.blockingUnaryCall(
                                  channel,
                                  ECHO,
                                  CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS),
                                  echoRequest("hello over h2")),
                              StandardCharsets.UTF_8))
                      .contains("hello over h2")
                      .contains("ServiceVersion=v1"));
      // The echo's failure knob: its gRPC status crosses both sidecars in the trailers.
      Metadata fail = new Metadata();
      fail.put(Metadata.Key.of("echo-grpc-status", Metadata.ASCII_STRING_MARSHALLER), "14");
      assertThatThrownBy(
              () ->
                  ClientCalls.blockingUnaryCall(
                      channel,
                      ECHO,
                      CallOptions.DEFAULT
                          .withDeadlineAfter(5, TimeUnit.SECONDS)
                          .withCallCredentials(headers(fail)),
                      echoRequest("x")))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(e.getStatus().getDescription())
                    .isEqualTo("requested by echo-grpc-status");
              });

      // Bidirectional streaming: each message answered as it arrives, before the client is done.
      java.util.concurrent.BlockingQueue<String> answers =
          new java.util.concurrent.LinkedBlockingQueue<>();
      java.util.concurrent.CompletableFuture<Void> completed =
          new java.util.concurrent.CompletableFuture<>();
      io.grpc.stub.StreamObserver<byte[]> requests =
          ClientCalls.asyncBidiStreamingCall(
              channel.newCall(
                  ECHO_STREAM, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)),
              new io.grpc.stub.StreamObserver<>() {
                @Override
                public void onNext(byte[] value) {
                  answers.add(new String(value, StandardCharsets.UTF_8));
                }

                @Override
                public void onError(Throwable t) {
                  completed.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {
                  completed.complete(null);
                }
              });
      requests.onNext(echoRequest("first"));
      assertThat(answers.poll(10, TimeUnit.SECONDS)).contains("first");
      requests.onNext(echoRequest("second"));
      assertThat(answers.poll(10, TimeUnit.SECONDS)).contains("second");
      requests.onCompleted();
      completed.get(10, TimeUnit.SECONDS);
    } finally {
      channel.shutdownNow();
    }
  }

  /** qmesh.echo.EchoTestService/EchoStream: bidirectional streaming. */
  private static final MethodDescriptor<byte[], byte[]> ECHO_STREAM =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
          .setFullMethodName("qmesh.echo.EchoTestService/EchoStream")
          .setRequestMarshaller(new BytesMarshaller())
          .setResponseMarshaller(new BytesMarshaller())
          .build();

  @Test
  @Order(120)
  void tcpCrossesTheSidecarsThroughAConnectTunnel() throws Exception {
    Qmesh.Result run = runEcho("echo-tcp-v1", "echo-tcp", "v1", "tcp", "9090");
    assertThat(run.code()).as(run.output()).isZero();
    int outbound = outboundPort("productpage-v1");
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(500))
        .ignoreExceptions()
        .untilAsserted(
            () -> {
              try (java.net.Socket s = new java.net.Socket("127.0.0.1", outbound)) {
                s.setSoTimeout(5_000);
                var out = s.getOutputStream();
                out.write(
                    "CONNECT echo-tcp:9090 HTTP/1.1\r\nHost: echo-tcp:9090\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                var in = s.getInputStream();
                assertThat(readLine(in)).startsWith("HTTP/1.1 200");
                while (!readLine(in).isEmpty()) {
                  // the rest of the CONNECT answer's head
                }
                out.write("ping\n".getBytes(StandardCharsets.US_ASCII));
                StringBuilder seen = new StringBuilder();
                while (!seen.toString().contains("ping")) {
                  seen.append(readLine(in)).append('\n');
                }
                assertThat(seen.toString()).contains("ServiceVersion=v1");
              }
            });
  }

  @Test
  @Order(130)
  void webSocketsCrossTheSidecars() throws Exception {
    // echo-v1 (from qmesh run, above) echoes WebSocket frames; a JDK client inside productpage-v1
    // reaches it through productpage's sidecar.
    HttpClient inside =
        HttpClient.newBuilder()
            .proxy(
                java.net.ProxySelector.of(
                    new InetSocketAddress("127.0.0.1", outboundPort("productpage-v1"))))
            .build();
    java.util.concurrent.CompletableFuture<String> echoed =
        new java.util.concurrent.CompletableFuture<>();
    java.net.http.WebSocket ws =
        inside
            .newWebSocketBuilder()
            .buildAsync(
                URI.create("ws://echo:8080/ws"),
                new java.net.http.WebSocket.Listener() {
                  private final StringBuilder text = new StringBuilder();

                  @Override
                  public java.util.concurrent.CompletionStage<?> onText(
                      java.net.http.WebSocket webSocket, CharSequence data, boolean last) {
                    text.append(data);
                    if (last) {
                      echoed.complete(text.toString());
                    }
                    webSocket.request(1);
                    return null;
                  }
                })
            .get(10, TimeUnit.SECONDS);
    ws.sendText("hello through two sidecars", true);
    assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo("hello through two sidecars");
    ws.sendClose(java.net.http.WebSocket.NORMAL_CLOSURE, "done").get(10, TimeUnit.SECONDS);
  }

  @Test
  @Order(140)
  void retriesAndOutlierDetectionHideAnEndpointThatDies() throws Exception {
    for (int i = 1; i <= 3; i++) {
      Qmesh.Result run = runEcho("echo-r" + i, "echo-r", "v1", "http", "8080");
      assertThat(run.code()).as(run.output()).isZero();
    }
    String policy =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: echo-r
        spec:
          host: echo-r
          trafficPolicy:
            outlierDetection:
              consecutive5xxErrors: 2
              interval: 1s
              baseEjectionTime: 60s
              maxEjectionPercent: 50
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: echo-r
        spec:
          hosts: [echo-r]
          http:
          - route:
            - destination: {host: echo-r}
            retries:
              attempts: 3
              perTryTimeout: 2s
              retryOn: 5xx,reset,connect-failure
        """;
    // The client: this JVM as an app of ratings-v1, its sidecar as the HTTP proxy.
    HttpClient client =
        HttpClient.newBuilder()
            .proxy(
                java.net.ProxySelector.of(
                    new java.net.InetSocketAddress("127.0.0.1", outboundPort("ratings-v1"))))
            .build();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://echo-r:8080/"))
            .timeout(Duration.ofSeconds(10))
            .build();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              Set<String> seen = new java.util.HashSet<>();
              for (int i = 0; i < 30; i++) {
                Matcher m =
                    Pattern.compile("Hostname=(\\S+)")
                        .matcher(client.send(request, HttpResponse.BodyHandlers.ofString()).body());
                seen.add(m.find() ? m.group(1) : "?");
              }
              return seen.size() == 3;
            });
    // Warm the three new workloads (apps and sidecars, C1-compiled JVMs) at the burst's rate before
    // the policy: a cold start's answers of a second or more would time tries out and eject live
    // endpoints, which is not what this step is about.
    double slowest = Double.MAX_VALUE;
    for (int round = 0; round < 20 && slowest > 0.25; round++) {
      Paced warm = paced(client, request, 400, -1, 0);
      slowest = warm.percentile(99);
      System.out.printf(
          "echo-r warm-up round %d: %s, p99 %.3f s%n", round, warm.statuses(), slowest);
    }
    assertThat(slowest).as("p99 of a warm-up round at 200 req/s, in seconds").isLessThan(0.25);

    Qmesh.Result applied = qmesh.input(policy, "apply", "-f", "-");
    assertThat(applied.code()).as(applied.output()).isZero();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              String clusters =
                  qmesh.run("proxy-config", "clusters", "ratings-v1", "-o", "json").output();
              String routes =
                  qmesh.run("proxy-config", "routes", "ratings-v1", "-o", "json").output();
              return outlierDetectionOn(JSON.readTree(clusters))
                  && JSON.readTree(routes).findValues("retryPolicy").stream()
                      .anyMatch(r -> r.path("numRetries").asInt() == 3);
            });

    long victim = -1;
    int victimInbound = -1;
    for (JsonNode c : JSON.readTree(qmesh.run("status", "-o", "json").output())) {
      if (c.path("name").asText().equals("echo-r2")) {
        victim = c.path("pid").asLong();
      }
      if (c.path("name").asText().equals("echo-r2-sidecar")) {
        victimInbound = c.path("ports").path("inbound").asInt();
      }
    }
    assertThat(victim).isPositive();
    assertThat(victimInbound).isPositive();

    // 200 requests a second for 10 s; echo-r2's app is killed (its sidecar stays) after 3 s.
    Paced burst = paced(client, request, 2000, 600, victim);
    Map<Integer, Integer> statuses = burst.statuses();
    int ok = statuses.getOrDefault(200, 0);
    assertThat(100.0 * ok / 2000)
        .as(
            "statuses %s (client errors %s); the client sidecar's answers by status, flags and"
                + " upstream host: %s; endpoints:%n%s",
            statuses,
            burst.errors(),
            echoOutcomes(),
            qmesh.run("proxy-config", "endpoints", "ratings-v1").output())
        .isGreaterThanOrEqualTo(99.9);

    String endpoints = qmesh.run("proxy-config", "endpoints", "ratings-v1").output();
    assertThat(endpoints)
        .containsPattern(
            "127\\.0\\.0\\.1:"
                + victimInbound
                + "\\s+HEALTHY\\s+FAILED\\s+outbound\\|8080\\|\\|echo-r\\.default");
    assertThat(qmesh.run("analyze").output()).doesNotContain("echo-r");
  }

  /** Whether echo-r's cluster at ratings-v1's sidecar has outlier detection. */
  private static boolean outlierDetectionOn(JsonNode clusters) {
    for (JsonNode c : clusters) {
      if (c.path("name").asText().equals("outbound|8080||echo-r.default.svc.cluster.local")) {
        return c.has("outlierDetection");
      }
    }
    return false;
  }

  /** The answers of a paced run: each request's status (0 when none came) and seconds taken. */
  private record Paced(int[] status, double[] seconds, Map<String, Integer> errors) {

    Map<Integer, Integer> statuses() {
      Map<Integer, Integer> counts = new TreeMap<>();
      for (int s : status) {
        counts.merge(s, 1, Integer::sum);
      }
      return counts;
    }

    double percentile(int p) {
      double[] sorted = seconds.clone();
      java.util.Arrays.sort(sorted);
      return sorted[Math.min(sorted.length - 1, sorted.length * p / 100)];
    }
  }

  /**
   * Sends {@code n} requests at 200 a second, each on its own (no waiting for answers), killing
   * process {@code victim} just before request {@code killAt} (none when negative), and waits for
   * every answer.
   */
  private static Paced paced(HttpClient client, HttpRequest request, int n, int killAt, long victim)
      throws Exception {
    int[] status = new int[n];
    double[] seconds = new double[n];
    Map<String, Integer> errors = new java.util.concurrent.ConcurrentSkipListMap<>();
    List<java.util.concurrent.CompletableFuture<?>> pending = new ArrayList<>(n);
    long start = System.nanoTime();
    for (int i = 0; i < n; i++) {
      long wait = start + i * 5_000_000L - System.nanoTime();
      if (wait > 0) {
        java.util.concurrent.locks.LockSupport.parkNanos(wait);
      }
      if (i == killAt) {
        ProcessHandle.of(victim).ifPresent(ProcessHandle::destroyForcibly);
      }
      int k = i;
      long sent = System.nanoTime();
      pending.add(
          client
              .sendAsync(request, HttpResponse.BodyHandlers.discarding())
              .handle(
                  (r, e) -> {
                    seconds[k] = (System.nanoTime() - sent) / 1e9;
                    if (e != null) {
                      errors.merge(String.valueOf(e.getCause()), 1, Integer::sum);
                    } else {
                      status[k] = r.statusCode();
                    }
                    return null;
                  }));
    }
    java.util.concurrent.CompletableFuture.allOf(
            pending.toArray(new java.util.concurrent.CompletableFuture<?>[0]))
        .get(30, TimeUnit.SECONDS);
    return new Paced(status, seconds, errors);
  }

  /**
   * What ratings-v1's sidecar logged for echo-r: counts by status, response flags and upstream
   * host, with the time of the first and last of each, to tell why requests failed.
   */
  private Map<String, String> echoOutcomes() throws IOException {
    Pattern line =
        Pattern.compile(
            "^\\[([^\\]]+)\\] \"\\S+ \\S+ \\S+\" (\\d+) (\\S+) .*\"echo-r:8080\" \"([^\"]*)\"");
    Map<String, String[]> seen = new TreeMap<>();
    Map<String, Integer> counts = new TreeMap<>();
    for (String l :
        Files.readAllLines(qmesh.workDir().resolve(".qmesh/logs/ratings-v1-sidecar.log"))) {
      Matcher m = line.matcher(l);
      if (m.find()) {
        String key = m.group(2) + " " + m.group(3) + " " + m.group(4);
        counts.merge(key, 1, Integer::sum);
        seen.computeIfAbsent(key, k -> new String[] {m.group(1), null})[1] = m.group(1);
      }
    }
    Map<String, String> out = new TreeMap<>();
    counts.forEach((k, n) -> out.put(k, n + " from " + seen.get(k)[0] + " to " + seen.get(k)[1]));
    return out;
  }

  @Test
  @Order(150)
  void mutualTlsBetweenWorkloadsAndStrictRefusesPlaintext() throws Exception {
    // Istio's: istioctl proxy-config secret productpage-v1
    Qmesh.Result secret = qmesh.run("proxy-config", "secret", "productpage-v1");
    assertThat(secret.code()).as(secret.output()).isZero();
    assertThat(secret.output())
        .containsPattern("default\\s+Cert Chain\\s+ACTIVE\\s+true")
        .containsPattern("ROOTCA\\s+CA\\s+ACTIVE\\s+true")
        .contains("identity:      spiffe://cluster.local/ns/default/sa/bookinfo-productpage");

    // Istio's destination-rule-all-mtls.yaml: every subset ISTIO_MUTUAL; Bookinfo keeps working.
    apply("destination-rule-all-mtls.yaml");
    await()
        .atMost(Duration.ofSeconds(15))
        .until(
            () ->
                servedBy(20, null)
                    .keySet()
                    .equals(Set.of("reviews-v1", "reviews-v2", "reviews-v3")));
    assertThat(productPage(null)).contains("<dd>paperback</dd>").doesNotContain("Sorry");

    int details = -1;
    int detailsStats = -1;
    for (JsonNode c : JSON.readTree(qmesh.run("status", "-o", "json").output())) {
      if (c.path("name").asText().equals("details-v1-sidecar")) {
        details = c.path("ports").path("inbound").asInt();
        detailsStats = c.path("ports").path("stats").asInt();
      }
    }
    assertThat(details).isPositive();
    assertThat(detailsStats).isPositive();
    String detailsUrl = "http://127.0.0.1:" + details + "/details/0";
    // PERMISSIVE (the default): a plain client straight to the inbound port still gets in.
    assertThat(curlStatus(detailsUrl)).isEqualTo("200");

    // Istio's mesh-wide STRICT: plaintext to the inbound port is refused, the page still works.
    Qmesh.Result strict =
        qmesh.input(
            """
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: istio-system}
            spec:
              mtls: {mode: STRICT}
            """,
            "apply",
            "-f",
            "-");
    assertThat(strict.code()).as(strict.output()).isZero();
    await().atMost(Duration.ofSeconds(15)).until(() -> !curlStatus(detailsUrl).equals("200"));
    assertThat(productPage(null)).contains("<dd>paperback</dd>").doesNotContain("Sorry");

    // The inbound port presents the workload's certificate: its URI SAN is the SPIFFE id.
    Process openssl =
        new ProcessBuilder(
                "sh",
                "-c",
                "openssl s_client -connect 127.0.0.1:"
                    + details
                    + " -showcerts </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName")
            .redirectErrorStream(true)
            .start();
    String san = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(openssl.waitFor()).as(san).isZero();
    assertThat(san).contains("URI:spiffe://cluster.local/ns/default/sa/bookinfo-details");

    // Istio's metrics at details name both principals and the mutual TLS policy.
    HttpResponse<String> metrics =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + detailsStats + "/stats/prometheus"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(metrics.body())
        .containsPattern(
            "istio_requests_total\\{[^}]*connection_security_policy=\"mutual_tls\""
                + "[^}]*destination_principal=\"spiffe://cluster.local/ns/default/sa/bookinfo-details\""
                + "[^}]*reporter=\"destination\""
                + "[^}]*source_principal=\"spiffe://cluster.local/ns/default/sa/bookinfo-productpage\"");

    Qmesh.Result removed =
        qmesh.input(
            """
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: istio-system}
            """,
            "delete",
            "-f",
            "-");
    assertThat(removed.code()).as(removed.output()).isZero();
    Qmesh.Result rules =
        qmesh.run("delete", "-f", SAMPLES.resolve("destination-rule-all-mtls.yaml").toString());
    assertThat(rules.code()).as(rules.output()).isZero();
    await().atMost(Duration.ofSeconds(15)).until(() -> curlStatus(detailsUrl).equals("200"));
  }

  /** The status {@code curl} gets from {@code url} with no client certificate ("000": none). */
  private static String curlStatus(String url) throws Exception {
    Process curl =
        new ProcessBuilder("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5", url)
            .redirectErrorStream(true)
            .start();
    String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    curl.waitFor();
    return out;
  }

  /**
   * {@code qmesh run} of the echo sample as workload {@code name} of {@code app} (its Service too),
   * serving {@code protocol} (http, grpc or tcp: the echo face the app port is) on service port
   * {@code servicePort}; its other faces on free ports.
   */
  private static Qmesh.Result runEcho(
      String name, String app, String version, String protocol, String servicePort)
      throws Exception {
    int port = freePort();
    Map<String, Integer> faces =
        new TreeMap<>(
            Map.of(
                "ECHO_HTTP_PORT",
                freePort(),
                "ECHO_GRPC_PORT",
                freePort(),
                "ECHO_TCP_PORT",
                freePort()));
    faces.put(
        switch (protocol) {
          case "grpc" -> "ECHO_GRPC_PORT";
          case "tcp" -> "ECHO_TCP_PORT";
          default -> "ECHO_HTTP_PORT";
        },
        port);
    List<String> args =
        new ArrayList<>(
            List.of(
                "run",
                "--name",
                name,
                "--app",
                app,
                "--version",
                version,
                "--port",
                String.valueOf(port),
                "--protocol",
                protocol,
                "--service",
                app,
                "--service-port",
                servicePort,
                "-e",
                "SERVICE_VERSION=" + version));
    faces.forEach((k, v) -> args.addAll(List.of("-e", k + "=" + v)));
    args.addAll(
        List.of(
            "--",
            System.getProperty("java.home") + "/bin/java",
            "-XX:TieredStopAtLevel=1",
            "-jar",
            ROOT.resolve("samples/echo/target/quarkus-app/quarkus-run.jar").toString()));
    return qmesh.run(args.toArray(String[]::new));
  }

  private static String readLine(java.io.InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      if (c != '\r') {
        b.append((char) c);
      }
    }
    return b.toString();
  }

  private static int outboundPort(String workload) throws Exception {
    for (JsonNode c : JSON.readTree(qmesh.run("status", "-o", "json").output())) {
      if (c.path("name").asText().equals(workload + "-sidecar")) {
        return c.path("ports").path("outbound").asInt();
      }
    }
    throw new AssertionError("no sidecar for " + workload);
  }

  /** qmesh.echo.EchoTestService/Echo, with the messages kept as protobuf bytes. */
  private static final MethodDescriptor<byte[], byte[]> ECHO =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("qmesh.echo.EchoTestService/Echo")
          .setRequestMarshaller(new BytesMarshaller())
          .setResponseMarshaller(new BytesMarshaller())
          .build();

  /** EchoRequest{message = 1}: field 1, length-delimited. */
  private static byte[] echoRequest(String message) {
    byte[] text = message.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[text.length + 2];
    out[0] = 0x0a;
    out[1] = (byte) text.length;
    System.arraycopy(text, 0, out, 2, text.length);
    return out;
  }

  private static CallCredentials headers(Metadata extra) {
    return new CallCredentials() {
      @Override
      public void applyRequestMetadata(
          RequestInfo info, java.util.concurrent.Executor executor, MetadataApplier applier) {
        applier.apply(extra);
      }
    };
  }

  /** Raw bytes in and out. */
  private static final class BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public java.io.InputStream stream(byte[] value) {
      return new java.io.ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(java.io.InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  private static String curlFromProductPage(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("exec", "productpage-v1", "--", "curl", "-sS"));
    cmd.addAll(List.of(args));
    return qmesh.run(cmd.toArray(String[]::new)).output();
  }

  private static void apply(String sample) throws Exception {
    Qmesh.Result r = qmesh.run("apply", "-f", SAMPLES.resolve(sample).toString());
    assertThat(r.code()).as(r.output()).isZero();
  }

  private static void awaitOnly(String version) {
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> servedBy(20, null).keySet().equals(Set.of(version)));
  }

  private static void awaitNo(String version) {
    await().atMost(Duration.ofSeconds(15)).until(() -> !servedBy(20, null).containsKey(version));
  }

  private static void awaitSeen(String version) {
    await().atMost(Duration.ofSeconds(15)).until(() -> servedBy(40, null).containsKey(version));
  }

  private static void assertShare(Map<String, Integer> seen, String v, int total, int percent) {
    double share = 100.0 * seen.getOrDefault(v, 0) / total;
    assertThat(share).as(v + " share of " + seen).isBetween(percent - 10.0, percent + 10.0);
  }

  /** Who served reviews, over {@code requests} product pages: version to count. */
  private static Map<String, Integer> servedBy(int requests, String session) throws Exception {
    Map<String, Integer> seen = new TreeMap<>();
    for (int i = 0; i < requests; i++) {
      Matcher m = SERVED_BY.matcher(productPage(session));
      seen.merge(m.find() ? m.group(1) : "none", 1, Integer::sum);
    }
    return seen;
  }

  private static String productPage(String session) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(PRODUCT_PAGE)).timeout(Duration.ofSeconds(15));
    if (session != null) {
      b.header("cookie", "session=" + session);
    }
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r.body();
  }

  private static String login(String user) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:8080/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("username=" + user + "&passwd=x"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(302);
    Matcher m =
        Pattern.compile("session=([^;]+)")
            .matcher(r.headers().firstValue("set-cookie").orElseThrow());
    assertThat(m.find()).isTrue();
    return m.group(1);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
