package io.qmesh.pilot.model;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A connected proxy as pilot sees it, from its Envoy node: id {@code
 * sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local} ({@code router~} for gateways) and Istio's
 * metadata keys (NAMESPACE, LABELS, SERVICE_ACCOUNT, WORKLOAD_NAME, INSTANCE_IPS, CLUSTER_ID,
 * GENERATOR). Two keys of qmesh's own serve the laptop mode, where every workload shares 127.0.0.1:
 * {@code QMESH_WORKLOAD_PORTS} (service port name or target port to the port the sidecar listens on
 * for it, used for auto-registration) and {@code QMESH_APP_PORTS} (target port to the application's
 * private port, where inbound traffic is delivered).
 */
public record ProxyNode(
    String id,
    Type type,
    String ip,
    String podName,
    String namespace,
    Map<String, String> labels,
    String workloadName,
    String serviceAccount,
    String clusterId,
    boolean proxyless,
    Map<String, Integer> workloadPorts,
    Map<String, Integer> appPorts) {

  /** What kind of proxy it is. */
  public enum Type {
    SIDECAR,
    ROUTER
  }

  /** Reads a node; throws IllegalArgumentException naming what is malformed. */
  public static ProxyNode from(Node node) {
    String id = node.getId();
    String[] parts = id.split("~");
    if (parts.length != 4) {
      throw new IllegalArgumentException(
          "node id '" + id + "': expected sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local");
    }
    Type type =
        switch (parts[0]) {
          case "sidecar" -> Type.SIDECAR;
          case "router" -> Type.ROUTER;
          default ->
              throw new IllegalArgumentException("node id '" + id + "': unknown type " + parts[0]);
        };
    Struct md = node.getMetadata();
    String podAndNs = parts[2];
    int dot = podAndNs.lastIndexOf('.');
    String pod = dot < 0 ? podAndNs : podAndNs.substring(0, dot);
    String namespace = string(md, "NAMESPACE", dot < 0 ? "default" : podAndNs.substring(dot + 1));
    Map<String, String> labels = stringMap(md, "LABELS");
    String workload = string(md, "WORKLOAD_NAME", pod);
    String sa = string(md, "SERVICE_ACCOUNT", "default");
    String cluster = string(md, "CLUSTER_ID", "Kubernetes");
    String ip = parts[1];
    List<String> ips = List.of(string(md, "INSTANCE_IPS", ip).split(","));
    boolean proxyless = "grpc".equals(string(md, "GENERATOR", ""));
    Map<String, Integer> ports = intMap(md, "QMESH_WORKLOAD_PORTS");
    Map<String, Integer> appPorts = intMap(md, "QMESH_APP_PORTS");
    return new ProxyNode(
        id,
        type,
        ips.get(0).trim(),
        pod,
        namespace,
        labels,
        workload,
        sa,
        cluster,
        proxyless,
        ports,
        appPorts);
  }

  /** The workload this proxy stands for, to register as an endpoint. */
  public Workload asWorkload() {
    return new Workload(
        workloadName, namespace, labels, ip, workloadPorts, serviceAccount, Workload.Source.PROXY);
  }

  /** Where inbound traffic for a target port goes: the app's private port, or the port itself. */
  public int appPort(int targetPort) {
    return appPorts.getOrDefault(String.valueOf(targetPort), targetPort);
  }

  private static Map<String, Integer> intMap(Struct md, String key) {
    Map<String, Integer> out = new LinkedHashMap<>();
    stringMap(md, key)
        .forEach(
            (k, v) -> {
              try {
                out.put(k, Integer.parseInt(v));
              } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + "." + k + ": '" + v + "' is not a port");
              }
            });
    return Map.copyOf(out);
  }

  private static String string(Struct md, String key, String fallback) {
    Value v = md.getFieldsMap().get(key);
    return v == null || v.getStringValue().isEmpty() ? fallback : v.getStringValue();
  }

  private static Map<String, String> stringMap(Struct md, String key) {
    Value v = md.getFieldsMap().get(key);
    Map<String, String> out = new LinkedHashMap<>();
    if (v != null && v.hasStructValue()) {
      v.getStructValue()
          .getFieldsMap()
          .forEach(
              (k, val) ->
                  out.put(
                      k,
                      val.hasNumberValue()
                          ? String.valueOf((long) val.getNumberValue())
                          : val.getStringValue()));
    }
    return Map.copyOf(out);
  }
}
