package io.qmesh.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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

  private static final Path ROOT =
      Path.of(System.getProperty("qmesh.root", "..")).toAbsolutePath().normalize();
  private static final Path LOGS = Path.of("target", "it-logs");
  private static final List<Process> PROCESSES = new ArrayList<>();
  private static final List<HttpServer> APPS = new ArrayList<>();
  private static final HttpClient PLAIN = HttpClient.newHttpClient();
  private static int pilotHttp;
  private static int pilotXds;
  private static int clientOutbound;
  private static HttpClient viaSidecar;

  @BeforeAll
  static void start() throws Exception {
    Files.createDirectories(LOGS);
    pilotHttp = freePort();
    pilotXds = freePort();
    Path state = Files.createTempDirectory("sidecar-it-");
    process(
        "pilot",
        ROOT.resolve("pilot/target/quarkus-app/quarkus-run.jar"),
        Map.of(
            "QUARKUS_HTTP_PORT",
            String.valueOf(pilotHttp),
            "QUARKUS_HTTP_HOST",
            "127.0.0.1",
            "PILOT_XDS_PORT",
            String.valueOf(pilotXds),
            "QMESH_PILOT_XDS_HOST",
            "127.0.0.1",
            "QMESH_STATE_DIR",
            state.toString()));
    await()
        .atMost(Duration.ofSeconds(60))
        .ignoreExceptions()
        .until(() -> get(pilotHttp, "/apis/config/namespaces").statusCode() == 200);
    apply(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: echo}
        spec:
          selector: {app: echo}
          ports: [{name: http, port: 9080}]
        """);

    List<Integer> admins = new ArrayList<>();
    for (String version : List.of("v1", "v2")) {
      int app = app("echo-" + version);
      int listen = freePort();
      admins.add(
          sidecar("echo-" + version, "app=echo,version=" + version, "9080:" + listen + ":" + app));
    }
    clientOutbound = freePort();
    admins.add(sidecar("client", "app=client", null));
    for (int admin : admins) {
      await()
          .atMost(Duration.ofSeconds(60))
          .ignoreExceptions()
          .until(() -> get(admin, "/ready").statusCode() == 200);
    }
    viaSidecar =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", clientOutbound)))
            .build();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    PROCESSES.forEach(Process::destroy);
    for (Process p : PROCESSES) {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
    APPS.forEach(s -> s.stop(0));
  }

  @Test
  void requestsCrossBothSidecarsAndFollowIstioRouting() throws Exception {
    // Default: both registered versions serve echo.
    await().atMost(Duration.ofSeconds(30)).until(() -> versionsSeen(40).size() == 2);
    assertThat(call("http://echo:9080/hello?x=1", null).body())
        .matches("echo-v[12] GET /hello\\?x=1 host=echo:9080 end-user=null");

    apply(
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
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> versionsSeen(20).equals(java.util.Set.of("echo-v1")));
    for (int i = 0; i < 20; i++) {
      assertThat(call("http://echo:9080/r", "jason").body()).startsWith("echo-v2 ");
      assertThat(call("http://echo:9080/r", "alice").body()).startsWith("echo-v1 ");
    }
  }

  @Test
  void destinationsOutsideTheMeshPassThroughAsWithAllowAny() throws Exception {
    int outside = app("outside");
    HttpResponse<String> r = call("http://127.0.0.1:" + outside + "/x", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("outside GET /x host=127.0.0.1:" + outside + " end-user=null");
    assertThat(call("http://nowhere.invalid:9080/", null).statusCode())
        .as("unresolvable: upstream connect failure")
        .isEqualTo(502);
  }

  @Test
  void pilotRegisteredTheWorkloadsThroughTheirSidecars() throws Exception {
    String registry = get(pilotHttp, "/debug/registry").body();
    assertThat(registry)
        .contains("\"workload\":\"echo-v1\"")
        .contains("\"workload\":\"echo-v2\"")
        .doesNotContain("\"workload\":\"client\"");
  }

  private static java.util.Set<String> versionsSeen(int calls) throws Exception {
    java.util.Set<String> seen = new java.util.TreeSet<>();
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

  /** A backend standing in for the application: says who it is and what it saw. */
  private static int app(String name) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext(
        "/",
        ex -> {
          byte[] body =
              (name
                      + " "
                      + ex.getRequestMethod()
                      + " "
                      + ex.getRequestURI()
                      + " host="
                      + ex.getRequestHeaders().getFirst("host")
                      + " end-user="
                      + ex.getRequestHeaders().getFirst("end-user"))
                  .getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(200, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    s.start();
    APPS.add(s);
    return s.getAddress().getPort();
  }

  /** Starts a sidecar process; returns its admin port. */
  private static int sidecar(String workload, String labels, String inbound) throws IOException {
    int admin = freePort();
    Map<String, String> env = new HashMap<>();
    env.put("QMESH_SIDECAR_PILOT", "127.0.0.1:" + pilotXds);
    env.put("QMESH_SIDECAR_WORKLOAD", workload);
    env.put("QMESH_SIDECAR_LABELS", labels);
    env.put("QMESH_SIDECAR_INBOUND_HOST", "127.0.0.1");
    env.put(
        "QMESH_SIDECAR_OUTBOUND_PORT",
        String.valueOf(workload.equals("client") ? clientOutbound : freePort()));
    env.put("QMESH_ADMIN_PORT", String.valueOf(admin));
    if (inbound != null) {
      env.put("QMESH_SIDECAR_INBOUND", inbound);
    }
    process("sidecar-" + workload, ROOT.resolve("sidecar/target/quarkus-app/quarkus-run.jar"), env);
    return admin;
  }

  private static void process(String name, Path jar, Map<String, String> env) throws IOException {
    assertThat(jar).as("packaged " + name).exists();
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder b =
        new ProcessBuilder(java, "-jar", jar.toString())
            .redirectErrorStream(true)
            .redirectOutput(LOGS.resolve(name + ".log").toFile());
    b.environment().putAll(env);
    PROCESSES.add(b.start());
  }

  private static void apply(String yaml) throws Exception {
    HttpResponse<String> r =
        PLAIN.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pilotHttp + "/apis/config"))
                .POST(HttpRequest.BodyPublishers.ofString(yaml))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return PLAIN.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
