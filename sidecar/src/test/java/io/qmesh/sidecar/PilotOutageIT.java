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
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Faults must not drop traffic: with requests flowing through a client sidecar to two server-side
 * sidecars, routing changes and a pilot restart lose no request.
 */
class PilotOutageIT {

  private static LocalMesh mesh;
  private static HttpClient viaSidecar;

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
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: echo}
        spec:
          host: echo
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
        """);
    for (String v : new String[] {"v1", "v2"}) {
      int app = mesh.app("echo-" + v);
      mesh.awaitReady(
          mesh.start(
              "sidecar-echo-" + v,
              "sidecar",
              mesh.sidecarEnv(
                  "echo-" + v,
                  "app=echo,version=" + v,
                  "echo",
                  "9080:" + LocalMesh.freePort() + ":" + app,
                  LocalMesh.freePort())));
    }
    int outbound = LocalMesh.freePort();
    mesh.awaitReady(
        mesh.start(
            "sidecar-client",
            "sidecar",
            mesh.sidecarEnv("client", "app=client", "client", null, outbound)));
    viaSidecar =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", outbound)))
            .build();
    await()
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(() -> call().statusCode() == 200);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    mesh.close();
  }

  private static HttpResponse<String> call() throws Exception {
    return viaSidecar.send(
        HttpRequest.newBuilder(URI.create("http://echo:9080/load"))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Sends requests one after another until stopped; counts outcomes by the test's phase and the
   * status (or error), so that a failure says when requests were lost.
   */
  private static final class Load implements AutoCloseable {
    final Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
    volatile String phase = "routing flips";
    final AtomicBoolean running = new AtomicBoolean(true);
    final Thread thread =
        new Thread(
            () -> {
              // Bounded: at most 10 minutes, whatever happens.
              long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
              while (running.get() && System.nanoTime() < deadline) {
                String outcome;
                try {
                  HttpResponse<String> r = call();
                  outcome = phase + ": " + r.statusCode() + " " + r.body().split(" ")[0];
                } catch (Exception e) {
                  outcome = phase + ": " + e.getClass().getSimpleName();
                }
                outcomes.computeIfAbsent(outcome, k -> new AtomicInteger()).incrementAndGet();
              }
            });

    Load() {
      thread.start();
    }

    int total() {
      return outcomes.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    Map<String, Integer> snapshot() {
      Map<String, Integer> out = new TreeMap<>();
      outcomes.forEach((k, v) -> out.put(k, v.get()));
      return out;
    }

    @Override
    public void close() throws InterruptedException {
      running.set(false);
      thread.join(15_000);
    }
  }

  private static String route(String subset) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: echo}
        spec:
          hosts: [echo]
          http:
          - route:
            - destination: {host: echo, subset: %s}
        """
        .formatted(subset);
  }

  @Test
  void routingChangesAndAPilotRestartLoseNoRequest() throws Exception {
    Map<String, Integer> outcomes;
    try (Load load = new Load()) {
      // Routing flips back and forth under load.
      for (int i = 0; i < 6; i++) {
        String subset = i % 2 == 0 ? "v1" : "v2";
        mesh.apply(route(subset));
        int seen = load.total();
        await().atMost(Duration.ofSeconds(10)).until(() -> load.total() > seen + 20);
      }
      // Pilot goes away: the sidecars keep serving with what they have.
      mesh.stopPilot();
      load.phase = "pilot down";
      int during = load.total();
      await().atMost(Duration.ofSeconds(10)).until(() -> load.total() > during + 100);
      // Pilot comes back (same store); the sidecars reconnect and follow new config again.
      load.phase = "pilot restarting";
      mesh.restartPilot();
      load.phase = "pilot back";
      mesh.apply(route("v1"));
      await()
          .atMost(Duration.ofSeconds(30))
          .ignoreExceptions()
          .until(() -> call().body().startsWith("echo-v1 "));
      int after = load.total();
      await().atMost(Duration.ofSeconds(10)).until(() -> load.total() > after + 50);
      outcomes = load.snapshot();
    }
    assertThat(outcomes.keySet())
        .as("every request answered by echo: %s", outcomes)
        .allMatch(k -> k.contains(": 200 echo-"));
    assertThat(outcomes.values().stream().mapToInt(Integer::intValue).sum()).isGreaterThan(300);
  }
}
