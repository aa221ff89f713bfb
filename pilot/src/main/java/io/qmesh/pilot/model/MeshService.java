package io.qmesh.pilot.model;

import java.util.List;
import java.util.Map;

/**
 * A service in the registry, from a Kubernetes {@code Service} or one host of a {@code
 * ServiceEntry}.
 *
 * @param hostname the FQDN ({@code reviews.default.svc.cluster.local}) or the ServiceEntry host
 * @param namespace where it is defined
 * @param shortName the Kubernetes service name, null for ServiceEntry hosts
 * @param ports its ports
 * @param selector workload labels selecting its endpoints; null selects none (static endpoints)
 * @param external ServiceEntry MESH_EXTERNAL
 * @param resolution how endpoints are found
 * @param staticEndpoints ServiceEntry endpoints
 * @param exportTo namespaces that see it: "*" (all), "." (own) or names
 */
public record MeshService(
    String hostname,
    String namespace,
    String shortName,
    List<ServicePort> ports,
    Map<String, String> selector,
    boolean external,
    Resolution resolution,
    List<Workload> staticEndpoints,
    List<String> exportTo) {

  /** How a service's endpoints are found. */
  public enum Resolution {
    /** Endpoints are workloads or listed addresses (EDS). */
    STATIC,
    /** Endpoints are DNS names resolved by the proxy. */
    DNS,
    /** The caller's original destination. */
    NONE
  }

  public java.util.Optional<ServicePort> port(int number) {
    return ports.stream().filter(p -> p.port() == number).findFirst();
  }

  /** Whether a proxy in {@code namespace} may see this service. */
  public boolean visibleFrom(String namespace) {
    if (exportTo.isEmpty() || exportTo.contains("*")) {
      return true;
    }
    return exportTo.contains(namespace)
        || (exportTo.contains(".") && this.namespace.equals(namespace));
  }
}
