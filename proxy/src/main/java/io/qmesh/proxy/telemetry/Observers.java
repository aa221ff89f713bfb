package io.qmesh.proxy.telemetry;

import java.util.List;

/**
 * What watches the requests of one connection manager: its tracing (null: none) and its access
 * logs.
 */
public record Observers(TracePolicy tracing, List<AccessLog> accessLogs) {

  public boolean idle() {
    return tracing == null && accessLogs.isEmpty();
  }
}
