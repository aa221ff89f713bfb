package io.qmesh.proxy.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt64Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LoadBalancerTest {

  private static List<UpstreamHost> hosts(int n) {
    List<UpstreamHost> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new UpstreamHost("10.0.0." + (i + 1), 9080, 1));
    }
    return out;
  }

  private static LoadBalancer lb(Cluster.LbPolicy policy, List<UpstreamHost> hosts) {
    return LoadBalancer.of(Cluster.newBuilder().setName("c").setLbPolicy(policy).build(), hosts);
  }

  private static Map<UpstreamHost, Integer> spread(LoadBalancer lb, int n) {
    Map<UpstreamHost, Integer> out = new HashMap<>();
    for (int i = 0; i < n; i++) {
      out.merge(lb.choose(Balancers.hash64("key-" + i)), 1, Integer::sum);
    }
    return out;
  }

  @Test
  void roundRobinVisitsEachHostInTurn() {
    List<UpstreamHost> h = hosts(3);
    LoadBalancer lb = lb(Cluster.LbPolicy.ROUND_ROBIN, h);
    assertThat(List.of(lb.choose(0), lb.choose(0), lb.choose(0), lb.choose(0)))
        .containsExactly(h.get(0), h.get(1), h.get(2), h.get(0));
  }

  @Test
  void randomAndLeastRequestSpreadEvenlyWhenIdle() {
    for (Cluster.LbPolicy p : List.of(Cluster.LbPolicy.RANDOM, Cluster.LbPolicy.LEAST_REQUEST)) {
      // 30000 picks over 3 hosts: 10000 each, standard deviation about 82.
      assertThat(spread(lb(p, hosts(3)), 30_000).values())
          .as(p.name())
          .allSatisfy(c -> assertThat(c).isBetween(9600, 10400));
    }
  }

  @Test
  void leastRequestAvoidsABusyHost() {
    List<UpstreamHost> h = hosts(2);
    for (int i = 0; i < 10; i++) {
      h.get(0).started();
    }
    LoadBalancer lb = lb(Cluster.LbPolicy.LEAST_REQUEST, h);
    assertThat(spread(lb, 1000)).containsOnlyKeys(h.get(1));
  }

  @Test
  void leastRequestRetriesChooseAmongTheHostsNotTried() {
    List<UpstreamHost> h = hosts(3);
    h.get(1).started();
    h.get(1).started();
    h.get(2).started();
    LoadBalancer lb = lb(Cluster.LbPolicy.LEAST_REQUEST, h);
    // The idle host 0 was tried (and failed): of the others the less busy one, every time.
    Map<UpstreamHost, Integer> picks = new HashMap<>();
    for (int i = 0; i < 1000; i++) {
      picks.merge(lb.chooseOther(i, new UpstreamHost[] {h.get(0), null}, 5), 1, Integer::sum);
    }
    assertThat(picks).containsOnlyKeys(h.get(2));
    // One left untried: that one. All tried: an ordinary pick.
    assertThat(lb.chooseOther(0, new UpstreamHost[] {h.get(0), h.get(2)}, 5)).isSameAs(h.get(1));
    List<UpstreamHost> two = h.subList(0, 2);
    assertThat(
            lb(Cluster.LbPolicy.LEAST_REQUEST, two)
                .chooseOther(0, two.toArray(UpstreamHost[]::new), 5))
        .isSameAs(h.get(0));
  }

  @Test
  void otherBalancersPickAgainUpToTheAttemptsToLeaveTriedHosts() {
    List<UpstreamHost> h = hosts(2);
    LoadBalancer rr = lb(Cluster.LbPolicy.ROUND_ROBIN, h);
    UpstreamHost[] tried = {h.get(0)};
    for (int i = 0; i < 10; i++) {
      assertThat(rr.chooseOther(0, tried, 2)).isSameAs(h.get(1));
    }
    // One pick only: the balancer's turn decides, as Envoy with host_selection_retry_max_attempts
    // 1.
    assertThat(List.of(rr.chooseOther(0, tried, 1), rr.chooseOther(0, tried, 1)))
        .containsExactlyInAnyOrder(h.get(0), h.get(1));
  }

  @Test
  void consistentHashesAreStickyAndMoveLittleWhenAHostGoes() {
    for (Cluster.LbPolicy p : List.of(Cluster.LbPolicy.RING_HASH, Cluster.LbPolicy.MAGLEV)) {
      List<UpstreamHost> four = hosts(4);
      LoadBalancer before = lb(p, four);
      LoadBalancer again = lb(p, hosts(4));
      LoadBalancer three = lb(p, four.subList(0, 3));
      int moved = 0;
      Map<UpstreamHost, Integer> share = new HashMap<>();
      for (int i = 0; i < 4000; i++) {
        long key = Balancers.hash64("user-" + i);
        UpstreamHost chosen = before.choose(key);
        share.merge(chosen, 1, Integer::sum);
        assertThat(chosen).isSameAs(before.choose(key));
        assertThat(again.choose(key).toString())
            .as("%s is deterministic", p)
            .isEqualTo(chosen.toString());
        if (chosen != four.get(3) && three.choose(key) != chosen) {
          moved++;
        }
      }
      // Of the ~3000 keys whose host stays, few move: the ring gives each remaining host more
      // points when one leaves (Envoy derives replicas from the host count), Maglev refills the
      // table along each host's permutation. A modulo hash would move about two thirds.
      int bound = p == Cluster.LbPolicy.RING_HASH ? 600 : 300;
      assertThat(moved).as("%s: keys of remaining hosts that moved", p).isLessThan(bound);
      assertThat(share.values())
          .as("%s spread", p)
          .allSatisfy(c -> assertThat(c).isBetween(600, 1400));
    }
  }

  @Test
  void configuredRingAndTableSizes() {
    Cluster ring =
        Cluster.newBuilder()
            .setLbPolicy(Cluster.LbPolicy.RING_HASH)
            .setRingHashLbConfig(
                Cluster.RingHashLbConfig.newBuilder().setMinimumRingSize(UInt64Value.of(64)))
            .build();
    assertThat(LoadBalancer.of(ring, hosts(2))).isInstanceOf(Balancers.RingHash.class);
    Cluster maglev =
        Cluster.newBuilder()
            .setLbPolicy(Cluster.LbPolicy.MAGLEV)
            .setMaglevLbConfig(
                Cluster.MaglevLbConfig.newBuilder().setTableSize(UInt64Value.of(251)))
            .build();
    assertThat(spread(LoadBalancer.of(maglev, hosts(2)), 1000)).hasSize(2);
  }

  @Test
  void noHostsMeansNoChoice() {
    for (Cluster.LbPolicy p :
        List.of(
            Cluster.LbPolicy.ROUND_ROBIN,
            Cluster.LbPolicy.RANDOM,
            Cluster.LbPolicy.LEAST_REQUEST,
            Cluster.LbPolicy.RING_HASH,
            Cluster.LbPolicy.MAGLEV)) {
      assertThat(lb(p, List.of()).choose(1)).as(p.name()).isNull();
    }
  }
}
