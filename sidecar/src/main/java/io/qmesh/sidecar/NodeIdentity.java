package io.qmesh.sidecar;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.List;
import java.util.Map;

/**
 * The Envoy node a sidecar presents to pilot: Istio's id and metadata, plus the laptop-mode ports.
 */
final class NodeIdentity {

  private NodeIdentity() {}

  static Node of(
      SidecarConfig c, Map<String, String> labels, List<Ports.Inbound> inbound, String podSuffix) {
    Struct.Builder workloadPorts = Struct.newBuilder();
    Struct.Builder appPorts = Struct.newBuilder();
    for (Ports.Inbound p : inbound) {
      workloadPorts.putFields(
          String.valueOf(p.targetPort()), string(String.valueOf(p.listenPort())));
      appPorts.putFields(String.valueOf(p.targetPort()), string(String.valueOf(p.appPort())));
    }
    Struct.Builder l = Struct.newBuilder();
    labels.forEach((k, v) -> l.putFields(k, string(v)));
    Struct.Builder md =
        Struct.newBuilder()
            .putFields("NAMESPACE", string(c.namespace()))
            .putFields("LABELS", Value.newBuilder().setStructValue(l).build())
            .putFields("WORKLOAD_NAME", string(c.workload()))
            .putFields("SERVICE_ACCOUNT", string(c.serviceAccount()))
            .putFields("INSTANCE_IPS", string(c.instanceIp()));
    if (!inbound.isEmpty()) {
      md.putFields(
          "QMESH_WORKLOAD_PORTS", Value.newBuilder().setStructValue(workloadPorts).build());
      md.putFields("QMESH_APP_PORTS", Value.newBuilder().setStructValue(appPorts).build());
    }
    String id =
        "sidecar~"
            + c.instanceIp()
            + "~"
            + c.workload()
            + "-"
            + podSuffix
            + "."
            + c.namespace()
            + "~"
            + c.namespace()
            + ".svc.cluster.local";
    return Node.newBuilder().setId(id).setCluster(c.workload()).setMetadata(md).build();
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }
}
