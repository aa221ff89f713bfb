package io.qmesh.pilot.translate;

import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.fabric8.istio.api.api.networking.v1alpha3.Server;
import io.fabric8.istio.api.api.networking.v1alpha3.VirtualService;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.Named;
import io.qmesh.pilot.model.Protocol;
import io.qmesh.pilot.model.ProxyNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A gateway's listeners and routes: one listener {@code 0.0.0.0_<port>} per server port of the
 * Gateways selecting it, and route config {@code http.<port>} with a virtual host per host of each
 * VirtualService bound to those Gateways. Plain-text HTTP servers only for now; TLS servers come
 * with the gateways work.
 */
final class Gateways {

  private Gateways() {}

  /**
   * A Gateway reference as written in a VirtualService ({@code name}, {@code ns/name}, {@code
   * mesh}) made absolute.
   */
  static String ref(String gateway, String vsNamespace) {
    if (gateway.equals("mesh") || gateway.contains("/")) {
      return gateway;
    }
    return vsNamespace + "/" + gateway;
  }

  record Bound(String gatewayRef, String gatewayNamespace, Server server) {}

  static void generate(
      MeshSnapshot mesh,
      ProxyNode proxy,
      Set<String> clusters,
      List<Listener> listeners,
      List<RouteConfiguration> routes) {
    Map<Integer, List<Bound>> byPort = new TreeMap<>();
    for (var gw : mesh.gateways()) {
      Map<String, String> selector = gw.spec().getSelector();
      if (selector != null && !proxy.labels().entrySet().containsAll(selector.entrySet())) {
        continue;
      }
      for (Server s : gw.spec().getServers()) {
        Protocol p = Protocol.parse(s.getPort().getProtocol());
        if (p.isHttp() && p != Protocol.UNKNOWN) {
          byPort
              .computeIfAbsent(s.getPort().getNumber().intValue(), k -> new ArrayList<>())
              .add(new Bound(gw.ref(), gw.namespace(), s));
        }
      }
    }
    byPort.forEach(
        (port, servers) -> {
          String routeName = "http." + port;
          String listenerName = "0.0.0.0_" + port;
          listeners.add(
              Listener.newBuilder()
                  .setName(listenerName)
                  .setAddress(Envoy.address("0.0.0.0", port))
                  .addFilterChains(
                      FilterChain.newBuilder()
                          .addFilters(
                              Envoy.filter(
                                  Envoy.HCM,
                                  Observability.observe(
                                          Envoy.rdsManager("outbound_" + listenerName, routeName)
                                              .toBuilder(),
                                          mesh,
                                          proxy,
                                          Observability.Mode.CLIENT)
                                      .build())))
                  .build());
          routes.add(routeConfig(mesh, proxy, clusters, port, routeName, servers));
        });
  }

  private static RouteConfiguration routeConfig(
      MeshSnapshot mesh,
      ProxyNode proxy,
      Set<String> clusters,
      int port,
      String name,
      List<Bound> servers) {
    Set<String> refs = new LinkedHashSet<>();
    servers.forEach(b -> refs.add(b.gatewayRef()));
    RouteContext ctx = new RouteContext(mesh, proxy, port, refs, clusters);
    Map<String, VirtualHost> hosts = new LinkedHashMap<>();
    for (Named<VirtualService> vs : mesh.virtualServices()) {
      List<Bound> bound =
          servers.stream()
              .filter(
                  b ->
                      vs.spec().getGateways().stream()
                          .anyMatch(g -> ref(g, vs.namespace()).equals(b.gatewayRef())))
              .toList();
      if (bound.isEmpty()) {
        continue;
      }
      for (String host : vs.spec().getHosts()) {
        if (hosts.containsKey(host)
            || bound.stream().noneMatch(b -> serverAccepts(b, host, vs.namespace()))) {
          continue;
        }
        hosts.put(
            host,
            VirtualHost.newBuilder()
                .setName(host + ":" + port)
                .addDomains(host)
                .addAllRoutes(HttpRoutes.routes(ctx, vs.namespace(), vs.spec().getHttp()))
                .build());
      }
    }
    return RouteConfiguration.newBuilder()
        .setName(name)
        .setValidateClusters(com.google.protobuf.BoolValue.of(false))
        .setIgnorePortInHostMatching(true)
        .addAllVirtualHosts(hosts.values())
        .build();
  }

  /**
   * Whether a server's {@code hosts} ({@code host}, {@code ns/host}, {@code ./host}, {@code *})
   * admit a VirtualService host.
   */
  private static boolean serverAccepts(Bound b, String host, String vsNamespace) {
    for (String h : b.server().getHosts()) {
      String ns = "*";
      String pattern = h;
      int slash = h.indexOf('/');
      if (slash >= 0) {
        ns = h.substring(0, slash);
        pattern = h.substring(slash + 1);
        if (ns.equals(".")) {
          ns = b.gatewayNamespace();
        }
      }
      if ((ns.equals("*") || ns.equals(vsNamespace))
          && (MeshSnapshot.hostMatches(pattern, host) || MeshSnapshot.hostMatches(host, pattern))) {
        return true;
      }
    }
    return false;
  }
}
