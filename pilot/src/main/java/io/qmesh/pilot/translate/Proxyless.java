package io.qmesh.pilot.translate;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.qmesh.pilot.model.MeshService;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.ProxyNode;
import io.qmesh.pilot.model.ServicePort;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Config for proxyless gRPC clients (grpc-java's {@code xds:///host:port}): a listener named {@code
 * host:port} with an {@code api_listener}, for every name the client may dial, each with a route
 * config of the same name.
 */
final class Proxyless {

  private Proxyless() {}

  static void generate(
      MeshSnapshot mesh,
      ProxyNode proxy,
      Set<String> clusters,
      List<Listener> listeners,
      List<RouteConfiguration> routes) {
    var scope = mesh.sidecarScope(proxy);
    for (MeshService s : mesh.services()) {
      if (!s.visibleFrom(proxy.namespace())) {
        continue;
      }
      for (ServicePort p : s.ports()) {
        if (!p.protocol().isHttp() || !scope.imports(s, p.port())) {
          continue;
        }
        RouteContext ctx = new RouteContext(mesh, proxy, p.port(), Set.of("mesh"), clusters);
        VirtualHost vh = VirtualHosts.forService(ctx, s, p.port(), true);
        for (String name : names(vh)) {
          var hcm = Envoy.proxylessManager(name);
          listeners.add(
              Listener.newBuilder()
                  .setName(name)
                  .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(hcm)))
                  .build());
          routes.add(RouteConfiguration.newBuilder().setName(name).addVirtualHosts(vh).build());
        }
      }
    }
  }

  /** The {@code host:port} names among a virtual host's domains. */
  private static List<String> names(VirtualHost vh) {
    List<String> out = new ArrayList<>();
    for (String d : vh.getDomainsList()) {
      if (d.contains(":")) {
        out.add(d);
      }
    }
    return out;
  }
}
