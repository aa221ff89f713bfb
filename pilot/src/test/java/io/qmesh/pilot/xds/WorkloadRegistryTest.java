package io.qmesh.pilot.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.qmesh.pilot.model.ProxyNode;
import io.qmesh.pilot.translate.Proxies;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkloadRegistryTest {

  @TempDir Path dir;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final AtomicInteger changes = new AtomicInteger();

  @AfterEach
  void stop() {
    timer.shutdownNow();
  }

  private WorkloadRegistry registry(Duration grace) {
    return new WorkloadRegistry(
        timer, grace, changes::incrementAndGet, dir.resolve("registry/workloads.json"));
  }

  private static ProxyNode sidecar(String id) {
    var node = Proxies.node(id, Map.of("app", "ratings"), Map.of("NAMESPACE", "default"));
    var ports =
        com.google.protobuf.Struct.newBuilder()
            .putFields(
                "9080", com.google.protobuf.Value.newBuilder().setStringValue("21080").build());
    var md =
        node.getMetadata().toBuilder()
            .putFields(
                "QMESH_WORKLOAD_PORTS",
                com.google.protobuf.Value.newBuilder().setStructValue(ports).build());
    return ProxyNode.from(node.toBuilder().setMetadata(md).build());
  }

  @Test
  void aProxyWithPortsRegistersAndLeavesAfterTheGracePeriod() {
    WorkloadRegistry registry = registry(Duration.ofMillis(200));
    ProxyNode node = sidecar("sidecar~127.0.0.1~ratings-1.default~default.svc.cluster.local");
    registry.connected(node);
    assertThat(registry.workloads()).extracting(w -> w.ports().get("9080")).containsExactly(21080);
    registry.disconnected(node);
    await().atMost(Duration.ofSeconds(5)).until(() -> registry.workloads().isEmpty());
    assertThat(changes.get()).isEqualTo(2);
  }

  @Test
  void registrationsOutliveARestartAndStayIfTheirProxyReturnsInTime() {
    ProxyNode back = sidecar("sidecar~127.0.0.1~ratings-1.default~default.svc.cluster.local");
    ProxyNode gone = sidecar("sidecar~127.0.0.2~ratings-2.default~default.svc.cluster.local");
    WorkloadRegistry before = registry(Duration.ofMillis(300));
    before.connected(back);
    before.connected(gone);
    // Saved on the timer, not on the connecting proxy's thread.
    Path file = dir.resolve("registry/workloads.json");
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> Files.exists(file) && Files.readString(file).contains("127.0.0.2"));

    // Restored entries wait longer than a disconnect's grace: every proxy must find pilot again.
    WorkloadRegistry after =
        new WorkloadRegistry(
            timer,
            Duration.ofMillis(100),
            Duration.ofMillis(800),
            changes::incrementAndGet,
            dir.resolve("registry/workloads.json"));
    assertThat(after.workloads()).hasSize(2);
    after.connected(back);
    long t0 = System.nanoTime();
    await().atMost(Duration.ofSeconds(5)).until(() -> after.workloads().size() == 1);
    assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThan(500);
    assertThat(after.workloads()).extracting(w -> w.address()).containsExactly("127.0.0.1");
  }

  @Test
  void aConnectingProxyDoesNotWaitForTheRegistryToBeWritten() throws Exception {
    // The xDS transport's thread registers a proxy on its first request: the file is written on
    // the timer. Held here, the connect returns all the same and the file follows.
    CountDownLatch hold = new CountDownLatch(1);
    timer.execute(
        () -> {
          try {
            hold.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    WorkloadRegistry registry = registry(Duration.ofSeconds(30));
    registry.connected(sidecar("sidecar~127.0.0.1~ratings-1.default~default.svc.cluster.local"));
    registry.connected(sidecar("sidecar~127.0.0.2~ratings-2.default~default.svc.cluster.local"));
    Path file = dir.resolve("registry/workloads.json");
    assertThat(registry.workloads()).hasSize(2);
    assertThat(file).doesNotExist();
    hold.countDown();
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> Files.exists(file) && Files.readString(file).contains("127.0.0.2"));
  }
}
