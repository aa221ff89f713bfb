package io.qmesh.pilot.translate;

import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.fabric8.istio.api.api.networking.v1alpha3.VirtualService;
import io.qmesh.pilot.model.MeshService;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.Named;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Virtual hosts of a service on a port, routed by the VirtualService that claims its host. */
final class VirtualHosts {

  private VirtualHosts() {}

  /**
   * The VH for {@code service} on {@code port}, as a sidecar ({@code withPorts} false: its route
   * configs ignore the port in host matching) or a proxyless client ({@code withPorts} true) sees
   * it.
   */
  static VirtualHost forService(
      RouteContext ctx, MeshService service, int port, boolean withPorts) {
    VirtualHost.Builder vh =
        VirtualHost.newBuilder()
            .setName(service.hostname() + ":" + port)
            .addAllDomains(domains(ctx, service, port, withPorts));
    Optional<Named<VirtualService>> vs = virtualServiceFor(ctx, service.hostname());
    if (vs.isPresent()) {
      vh.addAllRoutes(HttpRoutes.routes(ctx, vs.get().namespace(), vs.get().spec().getHttp()));
    } else {
      vh.addRoutes(HttpRoutes.defaultRoute(ctx, service, port));
    }
    return vh.build();
  }

  /**
   * Every name a client may use for the service: the FQDN, and for a proxy in the service's
   * namespace the short forms ({@code reviews}, {@code reviews.default}, {@code
   * reviews.default.svc}); each also with the port when {@code withPorts}. Since Istio 1.16 a
   * sidecar's route configs set {@code ignore_port_in_host_matching} and list the names alone (half
   * the bytes of a route config that every proxy receives); grpc-java's xDS client matches the
   * target's {@code host:port} as it is, so proxyless clients get both forms.
   */
  static List<String> domains(RouteContext ctx, MeshService service, int port, boolean withPorts) {
    List<String> names = new ArrayList<>();
    names.add(service.hostname());
    if (service.shortName() != null) {
      String ns = service.namespace();
      if (ns.equals(ctx.proxy().namespace())) {
        names.add(service.shortName());
      }
      names.add(service.shortName() + "." + ns + ".svc");
      names.add(service.shortName() + "." + ns);
    }
    List<String> out = new ArrayList<>();
    for (String n : names) {
      out.add(n);
      if (withPorts) {
        out.add(n + ":" + port);
      }
    }
    return out;
  }

  /** The first VirtualService (oldest) that a mesh proxy sees for a host. */
  static Optional<Named<VirtualService>> virtualServiceFor(RouteContext ctx, String hostname) {
    for (Named<VirtualService> vs : ctx.mesh().virtualServices()) {
      var spec = vs.spec();
      boolean forMesh = spec.getGateways().isEmpty() || spec.getGateways().contains("mesh");
      if (!forMesh || !exported(spec.getExportTo(), vs.namespace(), ctx.proxy().namespace())) {
        continue;
      }
      for (String h : spec.getHosts()) {
        if (MeshSnapshot.hostMatches(MeshSnapshot.resolveHost(h, vs.namespace()), hostname)) {
          return Optional.of(vs);
        }
      }
    }
    return Optional.empty();
  }

  static boolean exported(List<String> exportTo, String objectNamespace, String viewer) {
    return exportTo.isEmpty()
        || exportTo.contains("*")
        || exportTo.contains(viewer)
        || (exportTo.contains(".") && objectNamespace.equals(viewer));
  }
}
