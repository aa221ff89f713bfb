package io.qmesh.pilot.xds;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.qmesh.pilot.ingest.ConfigStore;
import io.qmesh.pilot.model.MeshConfig;
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
  private final MeshConfig meshConfig;
  private final MeterRegistry metrics;
  private final Timer pushTime;
  private final Timer convergence;

  /** When the first change of the push scheduled now came (0: the first push, no change). */
  private volatile long changedAt;

  /** Istio's buckets for pilot_proxy_convergence_time, in seconds. */
  private static final Duration[] BUCKETS = {
    Duration.ofMillis(100),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofSeconds(3),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(20),
    Duration.ofSeconds(30)
  };

  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final AtomicLong version = new AtomicLong();
  private final Map<String, ProxyNode> proxies = new ConcurrentHashMap<>();
  private final Map<String, String> pushed = new ConcurrentHashMap<>();
  private volatile MeshSnapshot mesh = MeshSnapshot.empty();
  // Translations of the current mesh snapshot; used and replaced on the push thread only.
  private Memo memo = new Memo();

  public PushScheduler(
      ScheduledExecutorService exec,
      ConfigStore store,
      WorkloadRegistry registry,
      SimpleCache<String> cache,
      Duration debounce,
      MeterRegistry metrics) {
    this(exec, store, registry, cache, debounce, metrics, MeshConfig.DEFAULT);
  }

  public PushScheduler(
      ScheduledExecutorService exec,
      ConfigStore store,
      WorkloadRegistry registry,
      SimpleCache<String> cache,
      Duration debounce,
      MeterRegistry metrics,
      MeshConfig meshConfig) {
    this.meshConfig = meshConfig;
    this.exec = exec;
    this.store = store;
    this.registry = registry;
    this.cache = cache;
    this.debounce = debounce;
    this.metrics = metrics;
    this.pushTime =
        Timer.builder("pilot_push_time")
            .description("Time to translate and hand a full push to the cache")
            .serviceLevelObjectives(BUCKETS)
            .register(metrics);
    this.convergence =
        Timer.builder("pilot_proxy_convergence_time")
            .description(
                "Time from a config or registry change to the push that carries it (Istio's"
                    + " buckets)")
            .serviceLevelObjectives(BUCKETS)
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
      changedAt = System.nanoTime();
      exec.schedule(safely(this::push), debounce.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * A proxy connected: give it its config at once, or with the first push when none is built yet
   * (version 0, the empty mesh). Pilot serves ADS before its first snapshot is built, and a proxy
   * reconnecting to a restarted pilot must not be handed the empty mesh (no routes, no endpoints).
   */
  public void connected(ProxyNode node) {
    proxies.put(node.id(), node);
    exec.execute(
        safely(
            () -> {
              if (mesh.version() > 0) {
                update(node, mesh, memo);
              }
            }));
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

  /** Rebuilds the snapshot and updates every proxy; runs inside {@link #safely}. */
  private void push() {
    scheduled.set(false);
    pushTime.record(
        () -> {
          MeshSnapshot next =
              SnapshotBuilder.build(
                  version.incrementAndGet(),
                  store.list(Optional.empty(), Optional.empty()),
                  registry.workloads(),
                  meshConfig);
          mesh = next;
          Memo fresh = new Memo();
          memo = fresh;
          int changed = 0;
          for (ProxyNode node : List.copyOf(proxies.values())) {
            if (update(node, next, fresh)) {
              changed++;
            }
          }
          LOG.debugf("push %d: %d of %d proxies changed", next.version(), changed, proxies.size());
          if (changedAt != 0) {
            convergence.record(System.nanoTime() - changedAt, TimeUnit.NANOSECONDS);
          }
        });
  }

  /** A translated part of a proxy's config, with each type's digest computed once. */
  private record Part(ProxyResources r, String lv, String rv, String cv, String ev) {
    static Part of(ProxyResources r) {
      return new Part(
          r,
          ProxyResources.version(r.listeners()),
          ProxyResources.version(r.routes()),
          ProxyResources.version(r.clusters()),
          ProxyResources.version(r.endpoints()));
    }
  }

  /** A cache snapshot shared by every proxy with the same outbound shape and inbound config. */
  private record Shared(Snapshot snapshot, String key) {}

  /** Per snapshot of the mesh, the translations made so far; used on the push thread only. */
  private static final class Memo {
    final Map<String, Part> outbound = new HashMap<>();
    final Map<String, Part> inbound = new HashMap<>();
    final Map<String, Shared> shared = new HashMap<>();
  }

  private boolean update(ProxyNode node, MeshSnapshot mesh, Memo memo) {
    String shape = Translator.outboundShape(node, mesh);
    Part out = memo.outbound.computeIfAbsent(shape, k -> Part.of(Translator.outbound(node, mesh)));
    String inboundKey = Translator.inboundKey(node, mesh);
    Part in =
        memo.inbound.computeIfAbsent(inboundKey, k -> Part.of(Translator.inbound(node, mesh)));
    Shared shared =
        memo.shared.computeIfAbsent(
            shape + "#" + inboundKey, k -> share(out, in, node.proxyless()));
    if (shared.key().equals(pushed.get(node.id()))) {
      return false;
    }
    cache.setSnapshot(node.id(), shared.snapshot());
    pushed.put(node.id(), shared.key());
    return true;
  }

  private static Shared share(Part out, Part in, boolean proxyless) {
    String lv = out.lv() + in.lv();
    String rv = out.rv() + in.rv();
    String cv = out.cv() + in.cv();
    String ev = out.ev() + in.ev();
    if (proxyless) {
      // One version for every type: grpc-java drops clusters no route uses and re-subscribes to
      // them at an unchanged version, which java-control-plane's SotW cache would never answer.
      // Envoy asks for all clusters (wildcard) and never drops one that exists, so sidecars and
      // gateways keep per-type versions and are only sent the types that changed.
      lv = rv = cv = ev = lv + rv + cv + ev;
    }
    ProxyResources r = out.r().plus(in.r());
    Snapshot snapshot =
        Snapshot.create(
            r.clusters(), cv, r.endpoints(), ev, r.listeners(), lv, r.routes(), rv, List.of(), "");
    return new Shared(snapshot, lv + "/" + rv + "/" + cv + "/" + ev);
  }
}
