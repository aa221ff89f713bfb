package io.qmesh.pilot.xds;

import io.envoyproxy.controlplane.cache.CacheStatusInfo;
import io.envoyproxy.controlplane.cache.DeltaCacheStatusInfo;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.cache.WatchCancelledException;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * java-control-plane's snapshot cache, keyed by node id, with two additions:
 *
 * <ul>
 *   <li>it can run a task when a proxy's snapshot next changes: what a delta stream that NACKed
 *       waits for ({@link NackAwareWatcher});
 *   <li>a new snapshot is compared with the previous one for the delta watches of the types whose
 *       version changed only. java-control-plane diffs every type's resources for every proxy with
 *       a delta stream, though a type whose version is unchanged can have nothing to send: with
 *       1000 services, a route change cost 2000 proxies two diffs of 1000 entries each, about a
 *       second of pilot's CPU.
 * </ul>
 */
public final class MeshCache extends SimpleCache<String> {

  private final Map<String, List<Runnable>> onNextSnapshot = new ConcurrentHashMap<>();

  public MeshCache() {
    super(Node::getId);
  }

  /** Runs {@code task} once, after the node's snapshot is next set. */
  void onNextSnapshot(String node, Runnable task) {
    onNextSnapshot.compute(
        node,
        (k, tasks) -> {
          List<Runnable> out = tasks == null ? new ArrayList<>(1) : tasks;
          out.add(task);
          return out;
        });
  }

  /** Drops a task given to {@link #onNextSnapshot} that has not run. */
  void forgetNextSnapshot(String node, Runnable task) {
    onNextSnapshot.computeIfPresent(
        node,
        (k, tasks) -> {
          tasks.remove(task);
          return tasks.isEmpty() ? null : tasks;
        });
  }

  /**
   * The answer to each delta watch, as java-control-plane gives it: the resources whose version
   * changed from the previous snapshot (and that the watch tracks, or asks for, or all of them for
   * a wildcard watch) and the removed names it tracks. The difference between the two snapshots is
   * computed once per type for all the proxies that move from the same snapshot to the same
   * snapshot (proxies of one shape share both), and not at all for a type whose version did not
   * change. State-of-the-world watches are java-control-plane's.
   */
  @Override
  protected void respondWithSpecificOrder(
      String node,
      Snapshot previous,
      Snapshot snapshot,
      Map<ResourceType, CacheStatusInfo<String>> statuses,
      Map<ResourceType, DeltaCacheStatusInfo<String>> deltaStatuses) {
    super.respondWithSpecificOrder(node, previous, snapshot, statuses, Map.of());
    for (ResourceType type : Resources.RESOURCE_TYPES_IN_ORDER) {
      DeltaCacheStatusInfo<String> status = deltaStatuses.get(type);
      if (status == null) {
        continue;
      }
      String version = snapshot.version(type, List.of());
      if (previous != null && previous.version(type, List.of()).equals(version)) {
        continue;
      }
      Diff diff = diff(previous, snapshot, type);
      status.watchesRemoveIf(
          (id, watch) -> {
            if (watch.version().equals(version)) {
              return false;
            }
            Map<String, VersionedResource<?>> changed = new HashMap<>();
            diff.changed.forEach(
                (name, resource) -> {
                  String tracked = watch.trackedResources().get(name);
                  if (watch.pendingResources().contains(name)
                      || (tracked == null
                          ? watch.isWildcard()
                          : !tracked.equals(resource.version()))) {
                    changed.put(name, resource);
                  }
                });
            List<String> removed = new ArrayList<>();
            for (String name : diff.removed) {
              if (watch.trackedResources().get(name) != null) {
                removed.add(name);
              }
            }
            if (changed.isEmpty() && removed.isEmpty()) {
              return false;
            }
            try {
              watch.respond(DeltaResponse.create(watch.request(), changed, removed, version));
            } catch (WatchCancelledException cancelled) {
              // The stream went away: the watch goes too.
            }
            return true;
          });
    }
  }

  /** What changed in one type between two snapshots. */
  private record Diff(
      Snapshot previous,
      Snapshot snapshot,
      Map<String, VersionedResource<?>> changed,
      List<String> removed) {}

  /** The last difference computed per type; used under the cache's lock (setSnapshot). */
  private final Map<ResourceType, Diff> diffs = new EnumMap<>(ResourceType.class);

  private Diff diff(Snapshot previous, Snapshot snapshot, ResourceType type) {
    Diff d = diffs.get(type);
    if (d != null && d.previous == previous && d.snapshot == snapshot) {
      return d;
    }
    Map<String, VersionedResource<?>> before =
        previous == null ? Map.of() : previous.versionedResources(type);
    Map<String, VersionedResource<?>> after = snapshot.versionedResources(type);
    Map<String, VersionedResource<?>> changed = new HashMap<>();
    after.forEach(
        (name, resource) -> {
          VersionedResource<?> old = before.get(name);
          if (old == null || !old.version().equals(resource.version())) {
            changed.put(name, resource);
          }
        });
    List<String> removed = new ArrayList<>();
    for (String name : before.keySet()) {
      if (!after.containsKey(name)) {
        removed.add(name);
      }
    }
    d = new Diff(previous, snapshot, Map.copyOf(changed), List.copyOf(removed));
    diffs.put(type, d);
    return d;
  }

  @Override
  public void setSnapshot(String node, Snapshot snapshot) {
    super.setSnapshot(node, snapshot);
    List<Runnable> tasks = onNextSnapshot.remove(node);
    if (tasks != null) {
      tasks.forEach(Runnable::run);
    }
  }
}
