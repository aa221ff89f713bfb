package io.qmesh.sidecar;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.qmesh.proxy.xds.Nodes;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Envoy node a sidecar presents to pilot: Istio's id and metadata, plus the laptop-mode ports.
 */
final class NodeIdentity {

  private NodeIdentity() {}

  static Node of(
      SidecarConfig c, Map<String, String> labels, List<Ports.Inbound> inbound, String podSuffix) {
    Map<String, Object> md = new LinkedHashMap<>();
    md.put("NAMESPACE", c.namespace());
    md.put("LABELS", labels);
    md.put("WORKLOAD_NAME", c.workload());
    md.put("SERVICE_ACCOUNT", c.serviceAccount());
    md.put("INSTANCE_IPS", c.instanceIp());
    if (!inbound.isEmpty()) {
      Map<String, String> workloadPorts = new LinkedHashMap<>();
      Map<String, String> appPorts = new LinkedHashMap<>();
      for (Ports.Inbound p : inbound) {
        workloadPorts.put(String.valueOf(p.targetPort()), String.valueOf(p.listenPort()));
        appPorts.put(String.valueOf(p.targetPort()), String.valueOf(p.appPort()));
      }
      md.put("QMESH_WORKLOAD_PORTS", workloadPorts);
      md.put("QMESH_APP_PORTS", appPorts);
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
    return Nodes.node(id, c.workload(), md);
  }
}
