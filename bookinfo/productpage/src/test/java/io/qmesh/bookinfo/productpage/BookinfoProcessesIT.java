package io.qmesh.bookinfo.productpage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs the four packaged services as separate processes on 127.0.0.1, configured exactly as the
 * README's "run Bookinfo by hand" section says, and checks the product page they serve together.
 */
class BookinfoProcessesIT {

  private static final Path BOOKINFO =
      Path.of(System.getProperty("bookinfo.dir", "..")).toAbsolutePath();
  private static final Path LOGS = Path.of("target", "it-logs");
  private static final List<Process> PROCESSES = new ArrayList<>();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Map<String, Integer> PORTS = new LinkedHashMap<>();

  @BeforeAll
  static void startBookinfo() throws IOException {
    Files.createDirectories(LOGS);
    for (String service : List.of("details", "ratings", "reviews", "productpage")) {
      PORTS.put(service, freePort());
    }
    start("details", Map.of());
    start("ratings", Map.of());
    start(
        "reviews",
        Map.of(
            "HOSTNAME", "reviews-v3",
            "ENABLE_RATINGS", "true",
            "STAR_COLOR", "red",
            "RATINGS_HOSTNAME", "127.0.0.1",
            "RATINGS_SERVICE_PORT", String.valueOf(PORTS.get("ratings"))));
    start(
        "productpage",
        Map.of(
            "DETAILS_HOSTNAME",
            "127.0.0.1",
            "DETAILS_SERVICE_PORT",
            String.valueOf(PORTS.get("details")),
            "REVIEWS_HOSTNAME",
            "127.0.0.1",
            "REVIEWS_SERVICE_PORT",
            String.valueOf(PORTS.get("reviews")),
            "RATINGS_HOSTNAME",
            "127.0.0.1",
            "RATINGS_SERVICE_PORT",
            String.valueOf(PORTS.get("ratings"))));
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(200))
        .ignoreExceptions()
        .untilAsserted(
            () -> {
              for (Process p : PROCESSES) {
                assertThat(p.isAlive()).as("process %s alive (see %s)", p.pid(), LOGS).isTrue();
              }
              for (int port : PORTS.values()) {
                assertThat(get(port, "/health").statusCode()).isEqualTo(200);
              }
            });
  }

  @AfterAll
  static void stopBookinfo() throws InterruptedException {
    for (Process p : PROCESSES) {
      p.destroy();
    }
    for (Process p : PROCESSES) {
      if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  @Test
  void productPageComesTogetherFromFourProcesses() throws Exception {
    HttpResponse<String> page = get(PORTS.get("productpage"), "/productpage");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body())
        .contains("<title>Simple Bookstore App</title>")
        .contains("<dt>Publisher:</dt><dd>PublisherA</dd>")
        .contains("Reviews served by:</dt><u>reviews-v3</u>")
        .contains("<font color=\"red\">")
        .doesNotContain("Sorry");
  }

  @Test
  void jsonApiReachesEveryService() throws Exception {
    int port = PORTS.get("productpage");
    assertThat(get(port, "/api/v1/products/0").body()).contains("\"ISBN-10\":\"1234567890\"");
    assertThat(get(port, "/api/v1/products/0/reviews").body()).contains("\"color\":\"red\"");
    assertThat(get(port, "/api/v1/products/0/ratings").body()).contains("\"Reviewer1\":5");
  }

  private static void start(String service, Map<String, String> env) throws IOException {
    Path jar = BOOKINFO.resolve(service).resolve("target/quarkus-app/quarkus-run.jar");
    assertThat(jar).as("packaged %s", service).exists();
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder builder =
        new ProcessBuilder(java, "-jar", jar.toString())
            .redirectErrorStream(true)
            .redirectOutput(LOGS.resolve(service + ".log").toFile());
    builder.environment().putAll(env);
    builder.environment().put("QUARKUS_HTTP_HOST", "127.0.0.1");
    builder.environment().put("QUARKUS_HTTP_PORT", String.valueOf(PORTS.get(service)));
    PROCESSES.add(builder.start());
  }

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
