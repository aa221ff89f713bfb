package io.qmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.qmesh.testing.LocalMesh;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bookinfo behind sidecars and the ingress gateway, every part a process on 127.0.0.1, configured
 * with Istio's own sample files: each app calls the others by their service names through its
 * sidecar (as its HTTP proxy), each sidecar registers its workload with pilot, and the gateway
 * serves the product page on 8080 as {@code bookinfo-gateway.yaml} says.
 */
class BookinfoMeshIT {

  private static final Path ROOT =
      Path.of(System.getProperty("qmesh.root", "..")).toAbsolutePath().normalize();
  private static final Path NETWORKING = ROOT.resolve("bookinfo/networking");
  private static final Pattern SERVED_BY = Pattern.compile("Reviews served by:</dt><u>([^<]+)</u>");
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static LocalMesh mesh;

  /** One Bookinfo workload: its app (module), version and the app's extra environment. */
  private record Workload(String app, String version, Map<String, String> env) {}

  @BeforeAll
  static void start() throws Exception {
    try (ServerSocket probe =
        new ServerSocket(8080, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      // Istio's bookinfo-gateway.yaml opens 8080 on the gateway; it must be free.
    } catch (IOException e) {
      throw new AssertionError(
          "127.0.0.1:8080 is in use; bookinfo-gateway.yaml needs it for the ingress gateway", e);
    }
    mesh = new LocalMesh(ROOT);
    mesh.startPilot();
    mesh.apply(Files.readString(ROOT.resolve("bookinfo/platform/bookinfo-services.yaml")));
    Workload[] workloads = {
      new Workload("details", "v1", Map.of()),
      new Workload("ratings", "v1", Map.of()),
      new Workload("reviews", "v1", Map.of("ENABLE_RATINGS", "false")),
      new Workload("reviews", "v2", Map.of("ENABLE_RATINGS", "true", "STAR_COLOR", "black")),
      new Workload("reviews", "v3", Map.of("ENABLE_RATINGS", "true", "STAR_COLOR", "red")),
      new Workload("productpage", "v1", Map.of()),
    };
    for (Workload w : workloads) {
      String name = w.app() + "-" + w.version();
      int appPort = LocalMesh.freePort();
      int outbound = LocalMesh.freePort();
      mesh.start(
          "sidecar-" + name,
          "sidecar",
          mesh.sidecarEnv(
              name,
              "app=" + w.app() + ",version=" + w.version(),
              "bookinfo-" + w.app(),
              "9080:" + LocalMesh.freePort() + ":" + appPort,
              outbound));
      Map<String, String> env = new HashMap<>(w.env());
      env.put("QUARKUS_HTTP_PORT", String.valueOf(appPort));
      env.put("QUARKUS_HTTP_HOST", "127.0.0.1");
      env.put("HOSTNAME", name);
      env.put("HTTP_PROXY", "http://127.0.0.1:" + outbound);
      mesh.start(name, "bookinfo/" + w.app(), env);
    }
    mesh.start(
        "ingress-gateway",
        "ingress-gateway",
        Map.of("QMESH_GATEWAY_PILOT", mesh.pilotXds(), "QMESH_GATEWAY_LISTEN_HOST", "127.0.0.1"));
    mesh.apply(Files.readString(NETWORKING.resolve("bookinfo-gateway.yaml")));
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .ignoreExceptions()
        .until(() -> productPage(null).contains("Reviews served by:"));
  }

  @AfterAll
  static void stop() throws InterruptedException {
    if (mesh != null) {
      mesh.close();
    }
  }

  @Test
  void istiosWalkthroughOnQmesh() throws Exception {
    String page = productPage(null);
    assertThat(page)
        .contains("<title>Simple Bookstore App</title>")
        .contains("<dd>paperback</dd>")
        .doesNotContain("Sorry");

    // With no routing rules, reviews spreads over its three versions.
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> servedBy(30, null).equals(Set.of("reviews-v1", "reviews-v2", "reviews-v3")));

    // Istio's "route all traffic to v1".
    mesh.apply(Files.readString(NETWORKING.resolve("destination-rule-all.yaml")));
    mesh.apply(Files.readString(NETWORKING.resolve("virtual-service-all-v1.yaml")));
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> servedBy(20, null).equals(Set.of("reviews-v1")));

    // Istio's "route based on user identity": jason sees v2 (black stars), everyone else v1.
    mesh.apply(Files.readString(NETWORKING.resolve("virtual-service-reviews-test-v2.yaml")));
    String jason = login("jason");
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> servedBy(5, jason).equals(Set.of("reviews-v2")));
    assertThat(productPage(jason))
        .contains("<span class=\"user\">jason</span>")
        .contains("<font color=\"black\">");
    assertThat(servedBy(20, null)).isEqualTo(Set.of("reviews-v1"));
  }

  private static Set<String> servedBy(int requests, String session) throws Exception {
    Set<String> seen = new TreeSet<>();
    for (int i = 0; i < requests; i++) {
      Matcher m = SERVED_BY.matcher(productPage(session));
      seen.add(m.find() ? m.group(1) : "none");
    }
    return seen;
  }

  private static String productPage(String session) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:8080/productpage"))
            .timeout(Duration.ofSeconds(15));
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
    String cookie = r.headers().firstValue("set-cookie").orElseThrow();
    Matcher m = Pattern.compile("session=([^;]+)").matcher(cookie);
    assertThat(m.find()).isTrue();
    return m.group(1);
  }
}
