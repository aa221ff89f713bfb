package io.qmesh.proxy.telemetry;

import java.util.List;

/**
 * What watches the requests of one connection manager (or the connections of one TCP proxy): its
 * tracing (null: none), its access logs, and the Istio metrics its {@code istio.stats} filter drops
 * (an {@link IstioMetrics#dropMask} of bits; 0: every metric is reported, as without the filter).
 */
public record Observers(TracePolicy tracing, List<AccessLog> accessLogs, int droppedMetrics) {

  public Observers(TracePolicy tracing, List<AccessLog> accessLogs) {
    this(tracing, accessLogs, 0);
  }

  public boolean idle() {
    return tracing == null && accessLogs.isEmpty() && droppedMetrics == 0;
  }
}
