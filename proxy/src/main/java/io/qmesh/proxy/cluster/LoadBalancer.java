package io.qmesh.proxy.cluster;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Chooses a host for a request. Immutable over its host list; swapped whole when hosts change. */
public interface LoadBalancer {

  /**
   * @param hash the request's hash (from the route's hash policy) for consistent-hash balancers;
   *     others ignore it
   * @return the host, or null when the cluster has none (the caller answers 503, flag UH)
   */
  UpstreamHost choose(long hash);

  /**
   * A host for a retry that should go elsewhere (Envoy's {@code previous_hosts} predicate): by
   * default the balancer picks again, up to {@code attempts} picks, while it lands on a host in
   * {@code tried}, as Envoy re-runs its balancer.
   *
   * @param tried the hosts already tried; null entries are unused slots
   * @return the last pick, which may be a tried host when the picks found no other
   */
  default UpstreamHost chooseOther(long hash, UpstreamHost[] tried, int attempts) {
    UpstreamHost h = choose(hash);
    for (int i = 1; i < attempts && contains(tried, h); i++) {
      h = choose(ThreadLocalRandom.current().nextLong());
    }
    return h;
  }

  /** Whether {@code h} is one of {@code hosts} (by identity). */
  static boolean contains(UpstreamHost[] hosts, UpstreamHost h) {
    for (UpstreamHost t : hosts) {
      if (t == h) {
        return true;
      }
    }
    return false;
  }

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
