package io.qmesh.pilot.translate;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.qmesh.pilot.model.MeshService;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.ProxyNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Pure translation: the Envoy resources a proxy receives for a mesh snapshot. No I/O, no state; the
 * same inputs always give the same output, which the golden tests pin down.
 */
public final class Translator {

  private Translator() {}

  /** Everything a proxy receives: its outbound part plus, for a sidecar, its inbound part. */
  public static ProxyResources translate(ProxyNode proxy, MeshSnapshot mesh) {
    return outbound(proxy, mesh).plus(inbound(proxy, mesh));
  }

  /**
   * What outbound translation depends on. Proxies with equal shapes receive equal (and shared)
   * outbound resources, so a push translates once per shape rather than once per proxy.
   */
  public static String outboundShape(ProxyNode proxy, MeshSnapshot mesh) {
    boolean labelsMatter = proxy.type() == ProxyNode.Type.ROUTER || mesh.usesSourceLabels();
    return proxy.type()
        + "|"
        + proxy.proxyless()
        + "|"
        + proxy.namespace()
        + "|"
        + Observability.shape(mesh, proxy)
        + "|"
        + mesh.sidecarScope(proxy).key()
        + (labelsMatter ? "|" + new java.util.TreeMap<>(proxy.labels()) : "");
  }

  /**
   * What inbound translation depends on: the target ports the proxy's workload serves, their
   * protocols and the app ports they go to. Proxies with equal keys get equal inbound resources.
   */
  public static String inboundKey(ProxyNode proxy, MeshSnapshot mesh) {
    if (proxy.type() != ProxyNode.Type.SIDECAR || proxy.proxyless()) {
      return "";
    }
    java.util.TreeMap<Integer, String> ports = new java.util.TreeMap<>();
    for (var s : mesh.servicesOf(proxy)) {
      for (var p : s.ports()) {
        ports.putIfAbsent(
            p.targetPort(), p.protocol().isHttp() + ">" + proxy.appPort(p.targetPort()));
      }
    }
    return ports.toString();
  }

  /** A sidecar's own workload: virtualInbound and its inbound clusters; nothing for others. */
  public static ProxyResources inbound(ProxyNode proxy, MeshSnapshot mesh) {
    List<Listener> listeners = new ArrayList<>();
    List<Cluster> clusters = new ArrayList<>();
    if (proxy.type() == ProxyNode.Type.SIDECAR && !proxy.proxyless()) {
      Sidecars.inbound(mesh, proxy, listeners, clusters);
    }
    return new ProxyResources(listeners, List.of(), clusters, List.of());
  }

  /** Listeners, routes, clusters and endpoints for the proxy's outgoing traffic. */
  public static ProxyResources outbound(ProxyNode proxy, MeshSnapshot mesh) {
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> endpoints = new ArrayList<>();
    for (Clusters.Spec spec : Clusters.outboundSpecs(mesh, proxy)) {
      var all = mesh.endpoints(spec.service(), spec.port());
      var selected = Security.autoMtls(mesh, Endpoints.inSubset(all, spec.subsetLabels()));
      if (spec.service().resolution() == MeshService.Resolution.DNS && selected.isEmpty()) {
        // A DNS ServiceEntry without endpoints resolves its own host name, as in Istio.
        selected =
            List.of(
                new io.qmesh.pilot.model.Endpoint(
                    spec.service().hostname(), spec.port().targetPort(), java.util.Map.of(), ""));
      }
      clusters.add(Clusters.outbound(mesh, proxy, spec, selected));
      if (spec.service().resolution() == MeshService.Resolution.STATIC) {
        endpoints.add(Endpoints.assignment(spec.name(), selected));
      }
    }
    if (!proxy.proxyless()) {
      clusters.addAll(Clusters.builtIn());
      clusters.addAll(Observability.collectorClusters(mesh));
    }
    Set<String> names = new HashSet<>();
    clusters.forEach(c -> names.add(c.getName()));
    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> routes = new ArrayList<>();
    if (proxy.proxyless()) {
      Proxyless.generate(mesh, proxy, names, listeners, routes);
    } else if (proxy.type() == ProxyNode.Type.ROUTER) {
      Gateways.generate(mesh, proxy, names, listeners, routes);
    } else {
      Sidecars.generate(mesh, proxy, names, listeners, routes);
    }
    return new ProxyResources(listeners, routes, clusters, endpoints);
  }
}
