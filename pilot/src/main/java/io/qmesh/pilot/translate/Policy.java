package io.qmesh.pilot.translate;

import io.fabric8.istio.api.api.networking.v1alpha3.ClientTLSSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.ConnectionPoolSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.DestinationRule;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHash;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLB;
import io.fabric8.istio.api.api.networking.v1alpha3.OutlierDetection;
import io.fabric8.istio.api.api.networking.v1alpha3.TrafficPolicy;
import io.qmesh.pilot.model.MeshService;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.Named;
import java.util.Optional;

/**
 * The traffic policy in force for one cluster: the DestinationRule's top-level policy, overridden
 * per section by its port-level settings for the port, then by the subset's own policy (and its
 * port-level settings), as Istio merges them.
 */
record Policy(
    LoadBalancerSettings loadBalancer,
    ConnectionPoolSettings connectionPool,
    OutlierDetection outlierDetection,
    ClientTLSSettings tls) {

  static final Policy NONE = new Policy(null, null, null, null);

  /** The policy for {@code service}'s {@code port} (and {@code subset}, may be null). */
  static Policy of(
      MeshSnapshot mesh, String proxyNamespace, MeshService service, int port, String subset) {
    Optional<Named<DestinationRule>> dr =
        mesh.destinationRule(service.hostname(), proxyNamespace, service.namespace());
    if (dr.isEmpty()) {
      return NONE;
    }
    Policy p = NONE.merge(dr.get().spec().getTrafficPolicy(), port);
    if (subset != null) {
      for (var s : dr.get().spec().getSubsets()) {
        if (subset.equals(s.getName())) {
          p = p.merge(s.getTrafficPolicy(), port);
        }
      }
    }
    return p;
  }

  private Policy merge(TrafficPolicy tp, int port) {
    if (tp == null) {
      return this;
    }
    Policy p =
        new Policy(
            or(tp.getLoadBalancer(), loadBalancer),
            or(tp.getConnectionPool(), connectionPool),
            or(tp.getOutlierDetection(), outlierDetection),
            or(tp.getTls(), tls));
    for (var pl : tp.getPortLevelSettings()) {
      if (pl.getPort() != null
          && pl.getPort().getNumber() != null
          && pl.getPort().getNumber() == port) {
        p =
            new Policy(
                or(pl.getLoadBalancer(), p.loadBalancer),
                or(pl.getConnectionPool(), p.connectionPool),
                or(pl.getOutlierDetection(), p.outlierDetection),
                or(pl.getTls(), p.tls));
      }
    }
    return p;
  }

  /** The consistent-hash settings, when the load balancer hashes. */
  Optional<LoadBalancerSettingsConsistentHashLB> consistentHash() {
    if (loadBalancer != null
        && loadBalancer.getLbPolicy() instanceof LoadBalancerSettingsConsistentHash ch) {
      return Optional.ofNullable(ch.getConsistentHash());
    }
    return Optional.empty();
  }

  private static <T> T or(T value, T fallback) {
    return value != null ? value : fallback;
  }
}
