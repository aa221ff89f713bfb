package io.qmesh.proxy;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.qmesh.proxy.xds.XdsClient;
import io.qmesh.proxy.xds.XdsResources;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What a proxy's admin endpoint shows of what it runs. */
public final class Admin {

  private Admin() {}

  /** The node, the versions applied, the listeners, route configs and clusters with their hosts. */
  public static Map<String, Object> configDump(Node node, XdsClient xds, ProxyConfig config) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("node", node == null ? "" : node.getId());
    out.put("versions", xds == null ? Map.of() : xds.versions());
    XdsResources r = xds == null ? XdsResources.EMPTY : xds.resources();
    out.put("listeners", List.copyOf(new TreeMap<>(r.listeners()).keySet()));
    out.put("routes", List.copyOf(new TreeMap<>(config.routes()).keySet()));
    Map<String, List<String>> clusters = new TreeMap<>();
    config
        .clusters()
        .forEach(
            (name, c) -> clusters.put(name, c.hosts().stream().map(Object::toString).toList()));
    out.put("clusters", clusters);
    return out;
  }
}
