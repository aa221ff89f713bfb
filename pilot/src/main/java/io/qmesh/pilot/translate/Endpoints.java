package io.qmesh.pilot.translate;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.qmesh.pilot.model.Endpoint;
import java.util.List;
import java.util.Map;

/** Endpoint assignments (EDS) for clusters, narrowed to a subset's labels. */
final class Endpoints {

  private Endpoints() {}

  static ClusterLoadAssignment assignment(String cluster, List<Endpoint> endpoints) {
    ClusterLoadAssignment.Builder cla = ClusterLoadAssignment.newBuilder().setClusterName(cluster);
    if (!endpoints.isEmpty()) {
      // One locality; its weight is required by proxyless gRPC clients.
      LocalityLbEndpoints.Builder locality =
          LocalityLbEndpoints.newBuilder()
              .setLocality(Locality.getDefaultInstance())
              .setLoadBalancingWeight(UInt32Value.of(endpoints.size()));
      for (Endpoint e : endpoints) {
        LbEndpoint.Builder lb =
            LbEndpoint.newBuilder()
                .setEndpoint(
                    io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                        .setAddress(Envoy.address(e.address(), e.port())))
                .setLoadBalancingWeight(UInt32Value.of(1));
        if (e.meshTls()) {
          lb.setMetadata(Security.MESH_ENDPOINT);
        }
        locality.addLbEndpoints(lb);
      }
      cla.addEndpoints(locality);
    }
    return cla.build();
  }

  static List<Endpoint> inSubset(List<Endpoint> all, Map<String, String> subsetLabels) {
    if (subsetLabels == null || subsetLabels.isEmpty()) {
      return all;
    }
    return all.stream()
        .filter(e -> e.labels().entrySet().containsAll(subsetLabels.entrySet()))
        .toList();
  }
}
