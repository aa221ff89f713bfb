package io.qmesh.pilot.translate;

import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.qmesh.api.MeshNames;
import io.qmesh.pilot.model.MeshService;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.ProxyNode;
import io.qmesh.pilot.model.ServicePort;
import io.qmesh.pilot.model.SidecarScope;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A sidecar's listeners and routes, as Istio builds them: {@code virtualOutbound} on 15001, one
 * outbound listener {@code 0.0.0.0_<port>} per service port with route config {@code <port>} (a
 * virtual host per service plus {@code allow_any} to the original destination), and {@code
 * virtualInbound} on 15006 with a filter chain per port of the sidecar's own workload.
 */
final class Sidecars {

  private Sidecars() {}

  static void generate(
      MeshSnapshot mesh,
      ProxyNode proxy,
      Set<String> clusterNames,
      List<Listener> listeners,
      List<RouteConfiguration> routes) {
    SidecarScope scope = mesh.sidecarScope(proxy);
    String unknown = unknownDestinations(scope);
    listeners.add(
        Listener.newBuilder()
            .setName(MeshNames.VIRTUAL_OUTBOUND)
            .setAddress(Envoy.address("0.0.0.0", MeshNames.PORT_OUTBOUND))
            .setUseOriginalDst(BoolValue.of(true))
            .addFilterChains(
                FilterChain.newBuilder()
                    .setName("virtualOutbound-catchall-tcp")
                    .addFilters(Envoy.tcpProxy(unknown, unknown)))
            .build());
    Map<Integer, List<MeshService>> byPort = new TreeMap<>();
    for (MeshService s : mesh.services()) {
      if (s.visibleFrom(proxy.namespace())) {
        s.ports().stream()
            .filter(p -> scope.imports(s, p.port()))
            .forEach(p -> byPort.computeIfAbsent(p.port(), k -> new ArrayList<>()).add(s));
      }
    }
    byPort.forEach(
        (port, services) -> {
          String name = "0.0.0.0_" + port;
          Listener.Builder l =
              Listener.newBuilder()
                  .setName(name)
                  .setAddress(Envoy.address("0.0.0.0", port))
                  .setBindToPort(BoolValue.of(false));
          ServicePort first = services.get(0).port(port).orElseThrow();
          if (first.protocol().isHttp()) {
            l.addFilterChains(
                FilterChain.newBuilder()
                    .addFilters(
                        Envoy.filter(
                            Envoy.HCM,
                            Observability.observe(
                                    Envoy.rdsManager("outbound_" + name, String.valueOf(port))
                                        .toBuilder(),
                                    mesh,
                                    proxy,
                                    Observability.Mode.CLIENT)
                                .build())));
            routes.add(
                outboundRoutes(
                    new RouteContext(mesh, proxy, port, Set.of("mesh"), clusterNames),
                    port,
                    services,
                    unknown));
          } else {
            MeshService s = services.get(0);
            String cluster = MeshNames.outboundCluster(port, null, s.hostname());
            l.addFilterChains(
                FilterChain.newBuilder()
                    .addAllFilters(
                        Observability.tcpFilters(
                            mesh, proxy, Observability.Mode.CLIENT, cluster, cluster)));
          }
          listeners.add(l.build());
        });
  }

  /**
   * Where traffic to a destination the mesh does not know goes: passed through to the original
   * destination, or, when the proxy's Sidecar sets {@code REGISTRY_ONLY}, refused.
   */
  private static String unknownDestinations(SidecarScope scope) {
    return scope.registryOnly() ? MeshNames.BLACKHOLE_CLUSTER : MeshNames.PASSTHROUGH_CLUSTER;
  }

  private static RouteConfiguration outboundRoutes(
      RouteContext ctx, int port, List<MeshService> services, String unknown) {
    RouteConfiguration.Builder rc =
        RouteConfiguration.newBuilder()
            .setName(String.valueOf(port))
            .setValidateClusters(BoolValue.of(false))
            .setIgnorePortInHostMatching(true);
    for (MeshService s : services) {
      if (s.port(port).map(p -> p.protocol().isHttp()).orElse(false)) {
        rc.addVirtualHosts(VirtualHosts.forService(ctx, s, port, false));
      }
    }
    rc.addVirtualHosts(
        VirtualHost.newBuilder()
            .setName("allow_any")
            .addDomains("*")
            .addRoutes(
                Route.newBuilder()
                    .setName("allow_any")
                    .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                    .setRoute(
                        RouteAction.newBuilder()
                            .setCluster(unknown)
                            .setTimeout(Envoy.duration(Duration.ZERO)))));
    return rc.build();
  }

  /**
   * virtualInbound: traffic for the sidecar's own workload, per target port, to the app on
   * localhost.
   */
  static void inbound(
      MeshSnapshot mesh, ProxyNode proxy, List<Listener> listeners, List<Cluster> clusters) {
    Map<Integer, ServicePort> targets = new TreeMap<>();
    Map<Integer, String> operations = new TreeMap<>();
    for (MeshService s : mesh.servicesOf(proxy)) {
      s.ports().forEach(p -> targets.putIfAbsent(p.targetPort(), p));
      s.ports()
          .forEach(
              p -> operations.putIfAbsent(p.targetPort(), s.hostname() + ":" + p.port() + "/*"));
    }
    Listener.Builder l =
        Listener.newBuilder()
            .setName(MeshNames.VIRTUAL_INBOUND)
            .setAddress(Envoy.address("0.0.0.0", MeshNames.PORT_INBOUND))
            .setUseOriginalDst(BoolValue.of(true))
            .setDefaultFilterChain(
                FilterChain.newBuilder()
                    .setName("virtualInbound-catchall")
                    .addFilters(
                        Envoy.tcpProxy(
                            Clusters.INBOUND_PASSTHROUGH, Clusters.INBOUND_PASSTHROUGH)));
    targets.forEach(
        (target, sp) -> {
          String cluster = MeshNames.inboundCluster(target);
          clusters.add(Clusters.inbound(target, proxy.appPort(target), sp.protocol()));
          Security.Mode mode = Security.mode(mesh, proxy, target);
          FilterChain.Builder chain =
              FilterChain.newBuilder()
                  .setName("0.0.0.0_" + target)
                  .setFilterChainMatch(
                      FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(target)));
          if (sp.protocol().isHttp()) {
            HttpConnectionManager.Builder hcm =
                HttpConnectionManager.newBuilder()
                    .setStatPrefix("inbound_0.0.0.0_" + target)
                    .setRouteConfig(
                        RouteConfiguration.newBuilder()
                            .setName(cluster)
                            .setValidateClusters(BoolValue.of(false))
                            .addVirtualHosts(
                                VirtualHost.newBuilder()
                                    .setName("inbound|http|" + target)
                                    .addDomains("*")
                                    .addRoutes(
                                        Route.newBuilder()
                                            .setName("default")
                                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                                            .setDecorator(
                                                io.envoyproxy.envoy.config.route.v3.Decorator
                                                    .newBuilder()
                                                    .setOperation(operations.get(target)))
                                            .setRoute(
                                                RouteAction.newBuilder()
                                                    .setCluster(cluster)
                                                    .setTimeout(Envoy.duration(Duration.ZERO))))))
                    .addAllHttpFilters(Envoy.httpFilters());
            Observability.observe(hcm, mesh, proxy, Observability.Mode.SERVER);
            chain.addFilters(Envoy.filter(Envoy.HCM, hcm.build()));
          } else {
            chain.addAllFilters(
                Observability.tcpFilters(mesh, proxy, Observability.Mode.SERVER, cluster, cluster));
          }
          // PeerAuthentication as Istio writes it: a TLS chain (mTLS), a plaintext chain, or both
          // told apart by the TLS inspector (PERMISSIVE).
          if (mode != Security.Mode.DISABLE) {
            FilterChain.Builder tls = chain.clone();
            tls.setName("0.0.0.0_" + target + "_mtls")
                .setFilterChainMatch(
                    tls.getFilterChainMatch().toBuilder().setTransportProtocol("tls"))
                .setTransportSocket(Security.downstream());
            l.addFilterChains(tls);
          }
          if (mode != Security.Mode.STRICT) {
            if (mode == Security.Mode.PERMISSIVE) {
              chain.setFilterChainMatch(
                  chain.getFilterChainMatch().toBuilder().setTransportProtocol("raw_buffer"));
            }
            l.addFilterChains(chain);
          }
        });
    if (!targets.isEmpty()) {
      l.addListenerFilters(
          io.envoyproxy.envoy.config.listener.v3.ListenerFilter.newBuilder()
              .setName("envoy.filters.listener.tls_inspector")
              .setTypedConfig(
                  com.google.protobuf.Any.pack(
                      io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
                          .getDefaultInstance())));
    }
    clusters.add(Clusters.inboundPassthrough());
    listeners.add(l.build());
  }
}
