package io.qmesh.pilot.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.qmesh.api.config.ConfigParser;
import io.qmesh.pilot.ingest.LocalConfigStore;
import io.qmesh.pilot.model.ProxyNode;
import io.qmesh.pilot.translate.Proxies;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PushSchedulerTest {

  @TempDir Path dir;

  private final ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
  private final SimpleCache<String> cache = new SimpleCache<>(Node::getId);

  @AfterEach
  void stop() {
    exec.shutdownNow();
  }

  private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();

  private PushScheduler scheduler(LocalConfigStore store) {
    PushScheduler[] ref = new PushScheduler[1];
    WorkloadRegistry registry =
        new WorkloadRegistry(
            exec, Duration.ofSeconds(1), () -> ref[0].requestPush(), dir.resolve("workloads.json"));
    ref[0] = new PushScheduler(exec, store, registry, cache, Duration.ofMillis(10), metrics);
    store.onChange(ref[0]::requestPush);
    ref[0].start();
    return ref[0];
  }

  /**
   * Pilot serves ADS before its first push has built a snapshot: a proxy that connects meanwhile (a
   * sidecar reconnecting to a restarted pilot) is given the first real snapshot, never the empty
   * mesh, which would take its routes and endpoints away until the next push.
   */
  @Test
  void aProxyConnectingBeforeTheFirstSnapshotIsGivenThatSnapshot() throws Exception {
    LocalConfigStore store = new LocalConfigStore(dir);
    store.apply(
        ConfigParser.parse(
            Files.readString(Path.of("../bookinfo/platform/bookinfo-services.yaml")), "default"));
    java.util.List<io.envoyproxy.controlplane.cache.v3.Snapshot> given =
        java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    SimpleCache<String> recording =
        new SimpleCache<>(Node::getId) {
          @Override
          public synchronized void setSnapshot(
              String group, io.envoyproxy.controlplane.cache.v3.Snapshot snapshot) {
            given.add(snapshot);
            super.setSnapshot(group, snapshot);
          }
        };
    WorkloadRegistry registry =
        new WorkloadRegistry(exec, Duration.ofSeconds(1), () -> {}, dir.resolve("workloads.json"));
    PushScheduler scheduler =
        new PushScheduler(exec, store, registry, recording, Duration.ofMillis(10), metrics);
    ProxyNode reviews = sidecar("reviews-1", "default", "reviews");

    scheduler.connected(reviews);
    exec.submit(() -> {}).get();
    assertThat(given).as("nothing before the first snapshot").isEmpty();

    scheduler.start();
    await().atMost(Duration.ofSeconds(5)).until(() -> !given.isEmpty());
    assertThat(given.get(0).clusters().resources())
        .containsKey("outbound|9080||ratings.default.svc.cluster.local");
  }

  private static ProxyNode sidecar(String name, String namespace, String app) {
    return ProxyNode.from(
        Proxies.node(
            "sidecar~10.2.0.1~" + name + "." + namespace + "~" + namespace + ".svc.cluster.local",
            Map.of("app", app),
            Map.of("NAMESPACE", namespace)));
  }

  @Test
  void proxiesOfOneShapeShareOneSnapshotAndOthersDoNot() throws Exception {
    LocalConfigStore store = new LocalConfigStore(dir);
    store.apply(
        ConfigParser.parse(
            Files.readString(Path.of("../bookinfo/platform/bookinfo-services.yaml")), "default"));
    // ratings also serves an admin port, so its inbound config differs from reviews'.
    store.apply(
        ConfigParser.parse(
            "apiVersion: v1\nkind: Service\nmetadata: {name: ratings-admin}\nspec:\n  selector: {app: ratings}\n  ports: [{name: http-admin, port: 8081}]\n",
            "default"));
    PushScheduler scheduler = scheduler(store);
    ProxyNode reviews1 = sidecar("reviews-1", "default", "reviews");
    ProxyNode reviews2 = sidecar("reviews-2", "default", "reviews");
    ProxyNode ratings = sidecar("ratings-1", "default", "ratings");
    ProxyNode shop = sidecar("cart-1", "shop", "cart");
    for (ProxyNode p : new ProxyNode[] {reviews1, reviews2, ratings, shop}) {
      scheduler.connected(p);
    }
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () -> cache.getSnapshot(shop.id()) != null && cache.getSnapshot(ratings.id()) != null);
    assertThat(cache.getSnapshot(reviews1.id())).isSameAs(cache.getSnapshot(reviews2.id()));
    // Same outbound, different inbound (ratings also serves 8081): their own snapshots.
    assertThat(cache.getSnapshot(ratings.id())).isNotSameAs(cache.getSnapshot(reviews1.id()));

    var defaultBefore = cache.getSnapshot(reviews1.id());
    var shopBefore = cache.getSnapshot(shop.id());
    store.apply(
        ConfigParser.parse(
            "apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop, annotations: {networking.istio.io/exportTo: '.'}}\nspec:\n  selector: {app: cart}\n  ports: [{name: http, port: 8000}]\n",
            "default"));
    await().atMost(Duration.ofSeconds(5)).until(() -> cache.getSnapshot(shop.id()) != shopBefore);
    assertThat(cache.getSnapshot(reviews1.id()))
        .as("a change default cannot see leaves its snapshot alone")
        .isSameAs(defaultBefore);
    // The change reached the proxies after the debounce (10 ms): Istio's convergence time.
    var convergence = metrics.get("pilot_proxy_convergence_time").timer();
    assertThat(convergence.count()).isPositive();
    assertThat(convergence.max(java.util.concurrent.TimeUnit.MILLISECONDS))
        .isGreaterThanOrEqualTo(10);
  }
}
