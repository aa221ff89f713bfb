package io.qmesh.proxy.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.Map;

/** Builds the Envoy node a proxy presents to pilot, with Istio's metadata as a Struct. */
public final class Nodes {

  private Nodes() {}

  /**
   * @param metadata values are strings or string maps (LABELS, QMESH_WORKLOAD_PORTS, ...)
   */
  public static Node node(String id, String cluster, Map<String, ?> metadata) {
    Struct.Builder md = Struct.newBuilder();
    metadata.forEach((k, v) -> md.putFields(k, value(v)));
    return Node.newBuilder().setId(id).setCluster(cluster).setMetadata(md).build();
  }

  /**
   * Parses labels written {@code app=reviews,version=v1}.
   *
   * @param setting the setting's name, for the error
   * @throws IllegalArgumentException naming the setting and the part at fault
   */
  public static Map<String, String> labels(String setting, String text) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    if (text == null || text.isBlank()) {
      return out;
    }
    for (String part : text.split(",")) {
      int eq = part.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException(setting + ": '" + part.trim() + "' is not name=value");
      }
      out.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
    }
    return out;
  }

  private static Value value(Object v) {
    if (v instanceof Map<?, ?> m) {
      Struct.Builder s = Struct.newBuilder();
      m.forEach(
          (k, x) ->
              s.putFields(
                  String.valueOf(k), Value.newBuilder().setStringValue(String.valueOf(x)).build()));
      return Value.newBuilder().setStructValue(s).build();
    }
    return Value.newBuilder().setStringValue(String.valueOf(v)).build();
  }
}
