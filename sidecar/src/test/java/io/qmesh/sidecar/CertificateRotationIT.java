package io.qmesh.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmesh.testing.LocalMesh;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Certificates rotate under load and survive the CA going away, through real sidecars and pilot's
 * real CA, with every workload under a mesh-wide STRICT PeerAuthentication (every request between
 * sidecars is mutual TLS): with a 1-minute certificate lifetime, 200 requests a second for 3
 * minutes lose none while both sides renew several times; then, pilot (the CA) stopped for a minute
 * under the same load, requests keep flowing on the certificates the proxies hold, the failed
 * renewals are retried, and renewal resumes once pilot is back.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CertificateRotationIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int RATE = 200;

  private static LocalMesh mesh;

  /** The rotation pair (1-minute certificates) and the outage pair (3-minute certificates). */
  private static Pair rotating;

  private static Pair outage;

  record Pair(int serverAdmin, int clientAdmin, HttpClient client, String host) {}

  @BeforeAll
  static void start() throws Exception {
    mesh = new LocalMesh(Path.of(System.getProperty("qmesh.root", "..")));
    mesh.startPilot();
    mesh.apply(
        """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: default, namespace: istio-system}
        spec:
          mtls: {mode: STRICT}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo-a}
        spec:
          selector: {app: echo-a}
          ports: [{name: http, port: 9080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo-b}
        spec:
          selector: {app: echo-b}
          ports: [{name: http, port: 9080}]
        """);
    rotating = pair("echo-a", "60s");
    outage = pair("echo-b", "180s");
  }

  private static Pair pair(String app, String ttl) throws Exception {
    Map<String, String> server =
        mesh.sidecarEnv(
            app,
            "app=" + app + ",version=v1",
            app,
            "9080:" + LocalMesh.freePort() + ":" + mesh.app(app),
            LocalMesh.freePort());
    server.put("QMESH_SIDECAR_CERT_TTL", ttl);
    int serverAdmin = mesh.start("sidecar-" + app, "sidecar", server);
    int outbound = LocalMesh.freePort();
    Map<String, String> client =
        mesh.sidecarEnv(app + "-client", "app=" + app + "-client", app + "-client", null, outbound);
    client.put("QMESH_SIDECAR_CERT_TTL", ttl);
    int clientAdmin = mesh.start("sidecar-" + app + "-client", "sidecar", client);
    mesh.awaitReady(serverAdmin);
    mesh.awaitReady(clientAdmin);
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", outbound)))
            .build();
    Pair p = new Pair(serverAdmin, clientAdmin, http, app);
    // The first request through the new pair; a failure says what the pair last answered and what
    // the client sidecar holds for the server's service.
    String[] last = {"no answer yet"};
    try {
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                try {
                  HttpResponse<String> r =
                      http.send(request(p).build(), HttpResponse.BodyHandlers.ofString());
                  last[0] = r.statusCode() + " " + r.body();
                  return r.statusCode() == 200;
                } catch (java.io.IOException e) {
                  last[0] = e.toString();
                  return false;
                }
              });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      String clusters;
      try {
        clusters = mesh.get(clientAdmin, "/clusters").body();
      } catch (Exception x) {
        clusters = x.toString();
      }
      throw new AssertionError(
          "no 200 through the "
              + app
              + " pair in 60 s; last answer: "
              + last[0]
              + "\nthe client's clusters for "
              + app
              + ":\n"
              + clusters
                  .lines()
                  .filter(l -> l.contains(app + ".default"))
                  .collect(java.util.stream.Collectors.joining("\n")),
          e);
    }
    return p;
  }

  private static HttpRequest.Builder request(Pair p) {
    return HttpRequest.newBuilder(URI.create("http://" + p.host() + ":9080/rotation"))
        .timeout(Duration.ofSeconds(10));
  }

  @AfterAll
  static void stop() throws InterruptedException {
    mesh.close();
  }

  @Test
  @Order(1)
  void oneMinuteCertificatesRotateUnder200RequestsASecondLosingNone() throws Exception {
    Set<String> serverSerials = new TreeSet<>();
    Set<String> clientSerials = new TreeSet<>();
    Map<Integer, Integer> statuses =
        load(
            rotating,
            Duration.ofMinutes(3),
            () -> {
              serverSerials.add(serial(rotating.serverAdmin()));
              clientSerials.add(serial(rotating.clientAdmin()));
            });
    assertThat(statuses).as("statuses").containsOnlyKeys(200);
    assertThat(statuses.get(200)).isGreaterThanOrEqualTo(RATE * 180 * 95 / 100);
    // Renewed at about half of each minute's life, so several certificates each.
    assertThat(serverSerials).as("server certificates").hasSizeGreaterThanOrEqualTo(4);
    assertThat(clientSerials).as("client certificates").hasSizeGreaterThanOrEqualTo(4);
  }

  @Test
  @Order(2)
  void withTheCaStoppedForAMinuteTrafficContinues() throws Exception {
    // Stop the CA when its certificates have between 90 and 145 s left (3-minute certificates
    // renew at about half their life): the outage spans a renewal, and the certificates in use
    // outlive it.
    await()
        .atMost(Duration.ofMinutes(2))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () ->
                secondsLeft(outage.serverAdmin()) < 145 && secondsLeft(outage.clientAdmin()) < 145);
    String serverBefore = serial(outage.serverAdmin());
    String clientBefore = serial(outage.clientAdmin());
    Instant firstExpiry =
        Collections.min(List.of(expiry(outage.serverAdmin()), expiry(outage.clientAdmin())));
    List<String> errors = new ArrayList<>();
    // Pilot stops and starts on another thread, so the load keeps its schedule meanwhile.
    CompletableFuture<Void> outageDone =
        CompletableFuture.runAsync(
            () -> {
              try {
                mesh.stopPilot();
                Thread.sleep(60_000);
                mesh.restartPilot();
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    Map<Integer, Integer> statuses =
        load(
            outage,
            Duration.ofSeconds(90),
            () -> {
              String e = certs(outage.serverAdmin()).path("last_error").asText("");
              if (!outageDone.isDone() && !e.isEmpty() && !e.equals("null")) {
                errors.add(e);
              }
            });
    outageDone.get(60, TimeUnit.SECONDS);
    assertThat(statuses).as("statuses with the CA down").containsOnlyKeys(200);
    assertThat(statuses.get(200)).isGreaterThanOrEqualTo(RATE * 90 * 95 / 100);
    // The renewal due during the outage failed and was retried; with the CA back it succeeds on
    // both sides, before the certificates in use expire (the retries' backoff is bounded by the
    // life left), and new connections between them handshake with the new certificates.
    assertThat(errors).as("renewal errors while the CA was down").isNotEmpty();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                !serial(outage.serverAdmin()).equals(serverBefore)
                    && !serial(outage.clientAdmin()).equals(clientBefore));
    assertThat(Instant.now()).as("both renewed before a certificate expired").isBefore(firstExpiry);
    assertThat(certs(outage.serverAdmin()).path("last_error").isNull()).isTrue();
    assertThat(certs(outage.clientAdmin()).path("last_error").isNull()).isTrue();
    HttpResponse<String> after =
        outage.client().send(request(outage).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(after.statusCode())
        .as("after the outage: %s %s", after.headers().map(), after.body())
        .isEqualTo(200);
  }

  /**
   * Sends {@link #RATE} requests a second (open loop: each on its schedule, whether or not the
   * earlier ones have answered) for {@code duration}, running {@code everySecond} once a second on
   * the sending thread; returns the count of each status (0: no answer).
   */
  private static Map<Integer, Integer> load(Pair p, Duration duration, Check everySecond)
      throws Exception {
    List<CompletableFuture<Integer>> results = new ArrayList<>();
    long start = System.nanoTime();
    long interval = TimeUnit.SECONDS.toNanos(1) / RATE;
    long total = duration.toSeconds() * RATE;
    for (long i = 0; i < total; i++) {
      long due = start + i * interval;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      if (i % RATE == 0) {
        everySecond.run();
      }
      results.add(send(p));
    }
    Map<Integer, Integer> statuses = new TreeMap<>();
    for (CompletableFuture<Integer> r : results) {
      statuses.merge(r.get(30, TimeUnit.SECONDS), 1, Integer::sum);
    }
    return statuses;
  }

  private static CompletableFuture<Integer> send(Pair p) {
    return p.client()
        .sendAsync(request(p).build(), HttpResponse.BodyHandlers.discarding())
        .thenApply(HttpResponse::statusCode)
        .exceptionally(e -> 0);
  }

  private static JsonNode certs(int admin) throws Exception {
    return JSON.readTree(mesh.get(admin, "/certs").body());
  }

  private static String serial(int admin) throws Exception {
    return certs(admin)
        .path("certificates")
        .path(0)
        .path("cert_chain")
        .path(0)
        .path("serial_number")
        .asText();
  }

  private static long secondsLeft(int admin) throws Exception {
    return Duration.between(Instant.now(), expiry(admin)).toSeconds();
  }

  private static Instant expiry(int admin) throws Exception {
    return Instant.parse(
        certs(admin)
            .path("certificates")
            .path(0)
            .path("cert_chain")
            .path(0)
            .path("expiration_time")
            .asText());
  }

  @FunctionalInterface
  interface Check {
    void run() throws Exception;
  }
}
