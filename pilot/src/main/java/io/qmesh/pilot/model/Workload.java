package io.qmesh.pilot.model;

import java.util.Map;

/**
 * A workload instance that can be an endpoint: from a WorkloadEntry, a ServiceEntry endpoint, or a
 * proxy that registered itself.
 *
 * @param name workload name
 * @param namespace its namespace
 * @param labels its labels (app, version, ...)
 * @param address its IP or host name
 * @param ports port name or number (as text) to the port it listens on, overriding the target
 * @param serviceAccount its service account
 * @param source where it came from
 */
public record Workload(
    String name,
    String namespace,
    Map<String, String> labels,
    String address,
    Map<String, Integer> ports,
    String serviceAccount,
    Source source) {

  /** Where a workload came from. */
  public enum Source {
    WORKLOAD_ENTRY,
    SERVICE_ENTRY,
    PROXY
  }

  /** Whether all of {@code selector}'s labels are on this workload. */
  public boolean matches(Map<String, String> selector) {
    return selector != null && labels.entrySet().containsAll(selector.entrySet());
  }

  /** The port this workload serves a service port on. */
  public int portFor(ServicePort sp) {
    Integer byName = sp.name() == null ? null : ports.get(sp.name());
    if (byName != null) {
      return byName;
    }
    if (sp.targetPortName() != null && ports.containsKey(sp.targetPortName())) {
      return ports.get(sp.targetPortName());
    }
    Integer byNumber = ports.get(String.valueOf(sp.targetPort()));
    return byNumber != null ? byNumber : sp.targetPort();
  }
}
