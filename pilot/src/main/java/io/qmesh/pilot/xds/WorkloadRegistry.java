package io.qmesh.pilot.xds;

import io.qmesh.pilot.model.ProxyNode;
import io.qmesh.pilot.model.Workload;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Workloads that registered themselves by connecting (Istio's WorkloadEntry auto-registration): a
 * sidecar whose node names its ports ({@code QMESH_WORKLOAD_PORTS}) becomes an endpoint of the
 * Services selecting its labels; it is removed when its proxy has been gone for the grace period,
 * so a reconnect does not make it flap.
 */
public final class WorkloadRegistry {

  private final Map<String, Workload> workloads = new ConcurrentHashMap<>();
  private final Map<String, ScheduledFuture<?>> removals = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;
  private final Duration grace;
  private final Runnable onChange;

  public WorkloadRegistry(ScheduledExecutorService timer, Duration grace, Runnable onChange) {
    this.timer = timer;
    this.grace = grace;
    this.onChange = onChange;
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
      onChange.run();
    }
  }

  /** Schedules a gone proxy's workload for removal after the grace period. */
  public void disconnected(ProxyNode node) {
    if (!workloads.containsKey(node.id())) {
      return;
    }
    removals.put(
        node.id(),
        timer.schedule(
            () -> {
              removals.remove(node.id());
              if (workloads.remove(node.id()) != null) {
                onChange.run();
              }
            },
            grace.toMillis(),
            TimeUnit.MILLISECONDS));
  }
}
