package io.qmesh.pilot.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The cache's answers to delta watches when proxies move to a new shared snapshot. */
class MeshCacheTest {

  private final MeshCache cache = new MeshCache();

  private static ClusterLoadAssignment cla(String name, int weight) {
    return ClusterLoadAssignment.newBuilder()
        .setClusterName(name)
        .addEndpoints(
            LocalityLbEndpoints.newBuilder()
                .setLoadBalancingWeight(com.google.protobuf.UInt32Value.of(weight)))
        .build();
  }

  private static Snapshot snapshot(
      String clusterVersion, String endpointVersion, List<ClusterLoadAssignment> assignments) {
    List<Cluster> clusters =
        assignments.stream()
            .map(a -> Cluster.newBuilder().setName(a.getClusterName()).build())
            .toList();
    return Snapshot.create(
        clusters,
        clusterVersion,
        assignments,
        endpointVersion,
        List.of(),
        "1",
        List.of(),
        "1",
        List.of(),
        "");
  }

  /** A proxy's delta watch on the type, tracking what the snapshot holds of it. */
  private List<DeltaResponse> watch(String node, Snapshot at, ResourceType type, boolean wildcard) {
    String url =
        type == ResourceType.CLUSTER
            ? Resources.V3.CLUSTER_TYPE_URL
            : Resources.V3.ENDPOINT_TYPE_URL;
    Map<String, String> tracked = new HashMap<>();
    at.versionedResources(type).forEach((name, r) -> tracked.put(name, r.version()));
    List<DeltaResponse> got = new CopyOnWriteArrayList<>();
    cache.createDeltaWatch(
        DeltaXdsRequest.create(
            DeltaDiscoveryRequest.newBuilder()
                .setNode(Node.newBuilder().setId(node))
                .setTypeUrl(url)
                .build()),
        at.version(type, List.of()),
        tracked,
        Set.of(),
        wildcard,
        got::add,
        false);
    return got;
  }

  @Test
  void proxiesMovingToASharedSnapshotAreEachSentWhatChangedAndWhatWentAway() {
    Snapshot first = snapshot("c1", "e1", List.of(cla("a", 1), cla("b", 1), cla("c", 1)));
    Snapshot second = snapshot("c1", "e2", List.of(cla("a", 1), cla("b", 2)));
    Map<String, List<DeltaResponse>> endpoints = new HashMap<>();
    Map<String, List<DeltaResponse>> clusters = new HashMap<>();
    for (String node : List.of("p1", "p2", "p3")) {
      cache.setSnapshot(node, first);
      endpoints.put(node, watch(node, first, ResourceType.ENDPOINT, false));
      clusters.put(node, watch(node, first, ResourceType.CLUSTER, true));
    }
    assertThat(endpoints.values()).allSatisfy(l -> assertThat(l).isEmpty());

    for (String node : List.of("p1", "p2", "p3")) {
      cache.setSnapshot(node, second);
    }
    for (String node : List.of("p1", "p2", "p3")) {
      assertThat(endpoints.get(node))
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.version()).isEqualTo("e2");
                assertThat(r.resources()).containsOnlyKeys("b");
                assertThat(r.resources().get("b").resource()).isEqualTo(cla("b", 2));
                assertThat(r.removedResources()).containsExactly("c");
              });
      // The clusters' version did not change: nothing to send.
      assertThat(clusters.get(node)).isEmpty();
    }
  }

  @Test
  void aWildcardWatchIsSentNewResourcesAndANamedOneOnlyThoseItTracksOrAsksFor() {
    Snapshot first = snapshot("c1", "e1", List.of(cla("a", 1)));
    Snapshot second = snapshot("c2", "e2", List.of(cla("a", 1), cla("n", 1)));
    cache.setSnapshot("p", first);
    List<DeltaResponse> clusters = watch("p", first, ResourceType.CLUSTER, true);
    List<DeltaResponse> endpoints = watch("p", first, ResourceType.ENDPOINT, false);
    cache.setSnapshot("p", second);
    assertThat(clusters)
        .singleElement()
        .satisfies(r -> assertThat(r.resources()).containsOnlyKeys("n"));
    // "n" is neither tracked nor asked for by the named watch, and "a" did not change.
    assertThat(endpoints).isEmpty();
  }

  @Test
  void aTaskForTheNextSnapshotRunsOnceUnlessForgotten() {
    Snapshot first = snapshot("c1", "e1", List.of(cla("a", 1)));
    java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
    Runnable kept = ran::incrementAndGet;
    Runnable forgotten = () -> ran.addAndGet(100);
    cache.onNextSnapshot("p", kept);
    cache.onNextSnapshot("p", forgotten);
    cache.forgetNextSnapshot("p", forgotten);
    cache.setSnapshot("other", first);
    assertThat(ran).hasValue(0);
    cache.setSnapshot("p", first);
    cache.setSnapshot("p", first);
    assertThat(ran).hasValue(1);
  }
}
