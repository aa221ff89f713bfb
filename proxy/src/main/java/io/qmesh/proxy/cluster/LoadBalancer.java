package io.qmesh.proxy.cluster;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.util.List;

/** Chooses a host for a request. Immutable over its host list; swapped whole when hosts change. */
public interface LoadBalancer {

  /**
   * @param hash the request's hash (from the route's hash policy) for consistent-hash balancers;
   *     others ignore it
   * @return the host, or null when the cluster has none (the caller answers 503, flag UH)
   */
  UpstreamHost choose(long hash);

  /** The balancer an Envoy cluster asks for, over these hosts. */
  static LoadBalancer of(Cluster cluster, List<UpstreamHost> hosts) {
    List<UpstreamHost> h = List.copyOf(hosts);
    return switch (cluster.getLbPolicy()) {
      case ROUND_ROBIN -> new Balancers.RoundRobin(h);
      case RANDOM -> new Balancers.Random(h);
      case RING_HASH ->
          new Balancers.RingHash(
              h,
              cluster.hasRingHashLbConfig() && cluster.getRingHashLbConfig().hasMinimumRingSize()
                  ? cluster.getRingHashLbConfig().getMinimumRingSize().getValue()
                  : 1024);
      case MAGLEV ->
          new Balancers.Maglev(
              h,
              cluster.hasMaglevLbConfig() && cluster.getMaglevLbConfig().hasTableSize()
                  ? cluster.getMaglevLbConfig().getTableSize().getValue()
                  : 65537);
      default -> new Balancers.LeastRequest(h);
    };
  }
}
