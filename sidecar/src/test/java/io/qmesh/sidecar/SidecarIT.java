package io.qmesh.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.qmesh.testing.LocalMesh;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sidecars driven by a real pilot, all as processes on 127.0.0.1: two server-side sidecars in front
 * of real backends (echo v1 and v2, registered through their sidecars' connections) and a
 * client-side sidecar that a client uses as its HTTP proxy. Routing comes from Istio YAML applied
 * to pilot.
 */
class SidecarIT {

  private static LocalMesh mesh;
  private static int clientAdmin;
  private static int clientHealth;
  private static HttpClient viaSidecar;
  private static final Map<String, Integer> admins = new java.util.HashMap<>();

  @BeforeAll
  static void start() throws Exception {
    mesh = new LocalMesh(Path.of(System.getProperty("qmesh.root", "..")));
    mesh.startPilot();
    mesh.apply(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: echo}
        spec:
          selector: {app: echo}
          ports: [{name: http, port: 9080}]
        """);
    for (String version : new String[] {"v1", "v2"}) {
      int app = mesh.app("echo-" + version);
      String inbound = "9080:" + LocalMesh.freePort() + ":" + app;
      int admin =
          mesh.start(
              "sidecar-echo-" + version,
              "sidecar",
              mesh.sidecarEnv(
                  "echo-" + version,
                  "app=echo,version=" + version,
                  "echo",
                  inbound,
                  LocalMesh.freePort()));
      admins.put(version, admin);
      mesh.awaitReady(admin);
    }
    int clientOutbound = LocalMesh.freePort();
    clientHealth = LocalMesh.freePort();
    var clientEnv =
        new java.util.HashMap<>(
            mesh.sidecarEnv("client", "app=client", "client", null, clientOutbound));
    clientEnv.put("QMESH_SIDECAR_HEALTH_PORT", String.valueOf(clientHealth));
    clientAdmin = mesh.start("sidecar-client", "sidecar", clientEnv);
    mesh.awaitReady(clientAdmin);
    viaSidecar =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", clientOutbound)))
            .build();
  }

  @Test
  void adminShowsCountersClustersAndReadiness() throws Exception {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> versionsSeen(5).stream().allMatch(v -> v.startsWith("echo-v")));
    assertThat(mesh.get(clientHealth, "/healthz/ready").statusCode()).isEqualTo(200);
    var stats = mesh.get(clientAdmin, "/stats/prometheus");
    assertThat(stats.statusCode()).isEqualTo(200);
    assertThat(stats.body())
        .containsPattern("envoy_http_downstream_rq_total [1-9]")
        .contains("envoy_http_downstream_rq_xx_total{envoy_response_code_class=\"2\"")
        .contains("envoy_http_downstream_rq_active");
    // Istio's standard metrics, as Prometheus scrapes them, with the destination's workload
    // learned from the answers' peer metadata.
    assertThat(stats.body())
        .containsPattern(
            "istio_requests_total\\{[^}]*destination_service=\"echo.default.svc.cluster.local\""
                + "[^}]*destination_workload=\"echo-v[12]\"[^}]*reporter=\"source\"[^}]*"
                + "source_workload=\"client\"[^}]*\\} [1-9]")
        .containsPattern("istio_request_duration_milliseconds_bucket\\{[^}]*le=\"0.5\"")
        .containsPattern("istio_request_duration_milliseconds_bucket\\{[^}]*le=\"3600000.0\"")
        .contains("istio_response_bytes_sum{");
    assertThat(mesh.get(clientAdmin, "/clusters").body())
        .containsPattern(
            "outbound\\|9080\\|\\|echo.default.svc.cluster.local::127.0.0.1:\\d+::health_flags::healthy");
  }

  @AfterAll
  static void stop() throws InterruptedException {
    mesh.close();
  }

  @Test
  void requestsCrossBothSidecarsAndFollowIstioRouting() throws Exception {
    // Default: both registered versions serve echo.
    await().atMost(Duration.ofSeconds(30)).until(() -> versionsSeen(40).size() == 2);
    assertThat(call("http://echo:9080/hello?x=1", null).body())
        .matches("echo-v[12] GET /hello\\?x=1 host=echo:9080 end-user=null");

    mesh.apply(
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: echo}
        spec:
          host: echo
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: echo}
        spec:
          hosts: [echo]
          http:
          - match:
            - headers: {end-user: {exact: jason}}
            route:
            - destination: {host: echo, subset: v2}
          - route:
            - destination: {host: echo, subset: v1}
        """);
    await().atMost(Duration.ofSeconds(10)).until(() -> versionsSeen(20).equals(Set.of("echo-v1")));
    for (int i = 0; i < 20; i++) {
      assertThat(call("http://echo:9080/r", "jason").body()).startsWith("echo-v2 ");
      assertThat(call("http://echo:9080/r", "alice").body()).startsWith("echo-v1 ");
    }
    // Both ends of those requests ran on Netty's epoll transport.
    mesh.assertEpollTransport("sidecar-client");
    mesh.assertEpollTransport("sidecar-echo-v2");
  }

  @Test
  void aTelemetryDropsTheMetricsItDisablesOnTheSideItSelects() throws Exception {
    int echoV2 = admins.get("v2");
    mesh.apply(
        """
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: {name: echo-v2-metrics}
        spec:
          selector:
            matchLabels: {app: echo, version: v2}
          metrics:
          - providers: [{name: prometheus}]
            overrides:
            - match: {metric: REQUEST_DURATION, mode: SERVER}
              disabled: true
        """);
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> mesh.get(echoV2, "/config_dump").body().contains("istio.stats"));
    // The destination's counts before (earlier tests may have sent echo-v2 requests), then
    // requests until echo-v2 has answered some more (jason goes to v2 when routing says so).
    double requests = destinationSum(echoV2, "istio_requests_total");
    double durations = destinationSum(echoV2, "istio_request_duration_milliseconds_count");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              call("http://echo:9080/t", "jason");
              return destinationSum(echoV2, "istio_requests_total") >= requests + 3;
            });
    assertThat(destinationSum(echoV2, "istio_request_duration_milliseconds_count"))
        .as("the dropped metric records nothing more")
        .isEqualTo(durations);
    // The client side's metrics are untouched (mode SERVER, and another workload).
    assertThat(mesh.get(clientAdmin, "/stats/prometheus").body())
        .contains("istio_request_duration_milliseconds_count{");
  }

  /** The sum of one metric's series reported as destination on a proxy's scrape. */
  private static double destinationSum(int admin, String metric) throws Exception {
    double sum = 0;
    for (String line : mesh.get(admin, "/stats/prometheus").body().split("\n")) {
      if (line.startsWith(metric + "{") && line.contains("reporter=\"destination\"")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  @Test
  void loadBalancingPoliciesFromDestinationRules() throws Exception {
    // Service lb selects both echo workloads; its DestinationRule picks the policy.
    mesh.apply(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: lb}
        spec:
          selector: {app: echo}
          ports: [{name: http, port: 9080}]
        """);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> counts("http://lb:9080/", null, 40).size() == 2);

    mesh.apply(lbPolicy("simple: ROUND_ROBIN"));
    // Round robin over two hosts: sequential requests alternate, so 40 split exactly in half.
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> counts("http://lb:9080/", null, 40).values().stream().allMatch(n -> n == 20));

    mesh.apply(lbPolicy("simple: RANDOM"));
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> !counts("http://lb:9080/", null, 40).values().stream().allMatch(n -> n == 20));
    Map<String, Integer> random = counts("http://lb:9080/", null, 400);
    // Expected 200 each, standard deviation 10.
    assertThat(random.values()).hasSize(2).allMatch(n -> n > 150 && n < 250);

    mesh.apply(lbPolicy("consistentHash: {httpHeaderName: end-user}"));
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> counts("http://lb:9080/", "sticky-user", 10).size() == 1);
    Set<String> chosen = new TreeSet<>();
    for (int u = 0; u < 12; u++) {
      Map<String, Integer> one = counts("http://lb:9080/", "user-" + u, 8);
      assertThat(one).as("user-" + u + " sticks to one host").hasSize(1);
      chosen.addAll(one.keySet());
    }
    assertThat(chosen).as("users spread over both hosts").hasSize(2);
  }

  private static String lbPolicy(String policy) {
    return """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: lb}
        spec:
          host: lb
          trafficPolicy:
            loadBalancer: {%s}
        """
        .formatted(policy);
  }

  /** Which workload answered, over {@code calls} requests: workload to count. */
  private static Map<String, Integer> counts(String url, String user, int calls) throws Exception {
    Map<String, Integer> seen = new TreeMap<>();
    for (int i = 0; i < calls; i++) {
      HttpResponse<String> r = call(url, user);
      seen.merge(
          r.statusCode() == 200 ? r.body().split(" ")[0] : "status-" + r.statusCode(),
          1,
          Integer::sum);
    }
    return seen;
  }

  @Test
  void destinationsOutsideTheMeshPassThroughAsWithAllowAny() throws Exception {
    int outside = mesh.app("outside");
    HttpResponse<String> r = call("http://127.0.0.1:" + outside + "/x", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("outside GET /x host=127.0.0.1:" + outside + " end-user=null");
    assertThat(call("http://nowhere.invalid:9080/", null).statusCode())
        .as("unresolvable: upstream connect failure")
        .isEqualTo(503);
  }

  @Test
  void pilotRegisteredTheWorkloadsThroughTheirSidecars() throws Exception {
    String registry = mesh.get(mesh.pilotHttp(), "/debug/registry").body();
    assertThat(registry)
        .contains("\"workload\":\"echo-v1\"")
        .contains("\"workload\":\"echo-v2\"")
        .doesNotContain("\"workload\":\"client\"");
  }

  private static Set<String> versionsSeen(int calls) throws Exception {
    Set<String> seen = new TreeSet<>();
    for (int i = 0; i < calls; i++) {
      HttpResponse<String> r = call("http://echo:9080/v", null);
      seen.add(r.statusCode() == 200 ? r.body().split(" ")[0] : "status-" + r.statusCode());
    }
    return seen;
  }

  private static HttpResponse<String> call(String url, String user) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    if (user != null) {
      b.header("end-user", user);
    }
    return viaSidecar.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
