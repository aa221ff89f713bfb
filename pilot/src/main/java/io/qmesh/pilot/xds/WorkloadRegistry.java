package io.qmesh.pilot.xds;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmesh.pilot.model.ProxyNode;
import io.qmesh.pilot.model.Workload;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * Workloads that registered themselves by connecting (Istio's WorkloadEntry auto-registration): a
 * sidecar whose node names its ports ({@code QMESH_WORKLOAD_PORTS}) becomes an endpoint of the
 * Services selecting its labels; it is removed when its proxy has been gone for the grace period,
 * so a reconnect does not make it flap.
 */
public final class WorkloadRegistry {

  private static final Logger LOG = Logger.getLogger(WorkloadRegistry.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, Workload> workloads = new ConcurrentHashMap<>();
  private final Map<String, ScheduledFuture<?>> removals = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;
  private final AtomicBoolean saveScheduled = new AtomicBoolean();

  /** How long entries restored at start wait for their proxies: above the proxies' max backoff. */
  static final Duration RESTORED_GRACE = Duration.ofSeconds(30);

  private final Duration grace;
  private final Duration restoredGrace;
  private final Runnable onChange;
  private final Path file;

  public WorkloadRegistry(
      ScheduledExecutorService timer, Duration grace, Runnable onChange, Path file) {
    this(
        timer, grace, grace.compareTo(RESTORED_GRACE) > 0 ? grace : RESTORED_GRACE, onChange, file);
  }

  /**
   * @param restoredGrace how long entries restored at start wait for their proxies
   */
  WorkloadRegistry(
      ScheduledExecutorService timer,
      Duration grace,
      Duration restoredGrace,
      Runnable onChange,
      Path file) {
    this.timer = timer;
    this.grace = grace;
    this.restoredGrace = restoredGrace;
    this.onChange = onChange;
    this.file = file;
    restore();
  }

  private void restore() {
    if (!Files.exists(file)) {
      return;
    }
    try {
      Map<String, Workload> saved =
          JSON.readValue(file.toFile(), new TypeReference<Map<String, Workload>>() {});
      workloads.putAll(saved);
      // Until their proxies reconnect, restored entries stand; those that do not are removed. After
      // a pilot restart every proxy reconnects at once, each after its own backoff (up to 10 s in
      // qmesh's proxies), so restored entries get at least RESTORED_GRACE, not the plain grace.
      saved.keySet().forEach(id -> scheduleRemoval(id, restoredGrace));
      LOG.infof("restored %d registered workloads from %s", saved.size(), file);
    } catch (IOException e) {
      LOG.warnf("cannot read %s (%s); starting with no registered workloads", file, e.getMessage());
    }
  }

  /**
   * Saves the registry soon, on the timer: a proxy's first request runs on the xDS transport's
   * thread, which must not wait for a file to be written, and a burst of connects (every proxy of
   * the mesh after a pilot restart) is then a few writes of the whole registry, not one each.
   */
  private void save() {
    if (saveScheduled.compareAndSet(false, true)) {
      try {
        timer.execute(
            () -> {
              saveScheduled.set(false);
              write();
            });
      } catch (RejectedExecutionException stopping) {
        // Pilot is stopping: the registry is rebuilt from the proxies that reconnect.
        saveScheduled.set(false);
      }
    }
  }

  private void write() {
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      JSON.writeValue(tmp.toFile(), new TreeMap<>(workloads));
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      LOG.warnf("cannot save registered workloads to %s: %s", file, e.getMessage());
    }
  }

  public List<Workload> workloads() {
    return List.copyOf(workloads.values());
  }

  /** Registers a connected proxy's workload, if it announces its ports. */
  public void connected(ProxyNode node) {
    ScheduledFuture<?> pending = removals.remove(node.id());
    if (pending != null) {
      pending.cancel(false);
    }
    if (node.type() != ProxyNode.Type.SIDECAR
        || node.proxyless()
        || node.workloadPorts().isEmpty()) {
      return;
    }
    Workload w = node.asWorkload();
    if (!w.equals(workloads.put(node.id(), w))) {
      save();
      onChange.run();
    }
  }

  /** Schedules a gone proxy's workload for removal after the grace period. */
  public void disconnected(ProxyNode node) {
    if (workloads.containsKey(node.id())) {
      scheduleRemoval(node.id());
    }
  }

  private void scheduleRemoval(String id) {
    scheduleRemoval(id, grace);
  }

  private void scheduleRemoval(String id, Duration after) {
    removals.put(
        id,
        timer.schedule(
            () -> {
              removals.remove(id);
              if (workloads.remove(id) != null) {
                save();
                onChange.run();
              }
            },
            after.toMillis(),
            TimeUnit.MILLISECONDS));
  }
}
