package io.qmesh.pilot.xds;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.qmesh.pilot.ingest.ConfigStore;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.ProxyNode;
import io.qmesh.pilot.model.SnapshotBuilder;
import io.qmesh.pilot.translate.ProxyResources;
import io.qmesh.pilot.translate.Translator;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Turns changes into pushes: a change schedules one rebuild after the debounce delay (so a burst of
 * applies is one push), which builds a new {@link MeshSnapshot}, translates it for every connected
 * proxy (once per distinct proxy shape), and hands the cache a new snapshot only for proxies whose
 * resources changed. All on one thread, so pushes never interleave.
 */
public final class PushScheduler {

  private static final Logger LOG = Logger.getLogger(PushScheduler.class);

  private final ScheduledExecutorService exec;
  private final ConfigStore store;
  private final WorkloadRegistry registry;
  private final SimpleCache<String> cache;
  private final Duration debounce;
  private final MeterRegistry metrics;
  private final Timer pushTime;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final AtomicLong version = new AtomicLong();
  private final Map<String, ProxyNode> proxies = new ConcurrentHashMap<>();
  private final Map<String, String> pushed = new ConcurrentHashMap<>();
  private volatile MeshSnapshot mesh = MeshSnapshot.empty();

  public PushScheduler(
      ScheduledExecutorService exec,
      ConfigStore store,
      WorkloadRegistry registry,
      SimpleCache<String> cache,
      Duration debounce,
      MeterRegistry metrics) {
    this.exec = exec;
    this.store = store;
    this.registry = registry;
    this.cache = cache;
    this.debounce = debounce;
    this.metrics = metrics;
    this.pushTime =
        Timer.builder("pilot_push_time")
            .description("Time to translate and hand a full push to the cache")
            .register(metrics);
  }

  /** The snapshot the proxies were last pushed. */
  public MeshSnapshot mesh() {
    return mesh;
  }

  /** Builds the first snapshot; call once at start. */
  public void start() {
    exec.execute(safely(this::push));
  }

  /** Asks for a push soon; requests during the debounce delay join it. */
  public void requestPush() {
    if (scheduled.compareAndSet(false, true)) {
      exec.schedule(safely(this::push), debounce.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** A proxy connected: give it its config at once. */
  public void connected(ProxyNode node) {
    proxies.put(node.id(), node);
    exec.execute(safely(() -> update(node, translate(node, mesh, new HashMap<>()))));
  }

  public void disconnected(ProxyNode node) {
    proxies.remove(node.id());
    exec.execute(
        safely(
            () -> {
              pushed.remove(node.id());
              cache.clearSnapshot(node.id());
            }));
  }

  /** A task whose failure is logged and counted; the executor would swallow it silently. */
  private Runnable safely(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        metrics.counter("pilot_total_xds_internal_errors").increment();
        LOG.error("push task failed; proxies keep their last config", e);
      }
    };
  }

  /** What a proxy would receive now (debug). */
  public ProxyResources resourcesFor(ProxyNode node) {
    return Translator.translate(node, mesh);
  }

  public Optional<ProxyNode> proxy(String id) {
    return Optional.ofNullable(proxies.get(id));
  }

  private void push() {
    scheduled.set(false);
    try {
      pushTime.record(
          () -> {
            MeshSnapshot next =
                SnapshotBuilder.build(
                    version.incrementAndGet(),
                    store.list(Optional.empty(), Optional.empty()),
                    registry.workloads());
            mesh = next;
            Map<String, ProxyResources> memo = new HashMap<>();
            int changed = 0;
            for (ProxyNode node : List.copyOf(proxies.values())) {
              if (update(node, translate(node, next, memo))) {
                changed++;
              }
            }
            LOG.debugf(
                "push %d: %d of %d proxies changed", next.version(), changed, proxies.size());
          });
    } catch (RuntimeException e) {
      // A translation bug must not stop pushes: the proxies keep their last good config.
      metrics.counter("pilot_total_xds_internal_errors").increment();
      LOG.error("push failed; proxies keep their last config", e);
    }
  }

  private static ProxyResources translate(
      ProxyNode node, MeshSnapshot mesh, Map<String, ProxyResources> memo) {
    // Proxies of the same shape get the same resources; translate each shape once per push.
    String shape =
        node.type()
            + "|"
            + node.proxyless()
            + "|"
            + node.namespace()
            + "|"
            + new java.util.TreeMap<>(node.labels())
            + "|"
            + new java.util.TreeMap<>(node.appPorts());
    return memo.computeIfAbsent(shape, k -> Translator.translate(node, mesh));
  }

  private boolean update(ProxyNode node, ProxyResources r) {
    // One version for all types, over all of them: a change to any type re-sends every type.
    // Per-type versions would starve clients that re-subscribe to a resource at an unchanged
    // version (grpc-java drops clusters no route uses and asks again when a route does).
    String version = r.version();
    if (version.equals(pushed.get(node.id()))) {
      return false;
    }
    cache.setSnapshot(
        node.id(),
        Snapshot.create(
            r.clusters(), r.endpoints(), r.listeners(), r.routes(), List.of(), version));
    pushed.put(node.id(), version);
    return true;
  }
}
