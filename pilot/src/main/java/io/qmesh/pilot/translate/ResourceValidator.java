package io.qmesh.pilot.translate;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks that a proxy's resources are a config Envoy accepts: names present and unique per type,
 * listeners with an address or api_listener, every RDS name served, every cluster a route or TCP
 * proxy names defined, every EDS cluster with an assignment, typed configs that unpack.
 */
public final class ResourceValidator {

  private ResourceValidator() {}

  /**
   * @return the problems found; empty when the resources are valid
   */
  public static List<String> validate(ProxyResources r) {
    List<String> out = new ArrayList<>();
    Set<String> clusters =
        unique(out, "cluster", r.clusters().stream().map(Cluster::getName).toList());
    Set<String> routes =
        unique(out, "route config", r.routes().stream().map(RouteConfiguration::getName).toList());
    unique(out, "listener", r.listeners().stream().map(Listener::getName).toList());
    Set<String> assigned =
        unique(
            out,
            "assignment",
            r.endpoints().stream().map(ClusterLoadAssignment::getClusterName).toList());
    for (Cluster c : r.clusters()) {
      if (c.getType() == Cluster.DiscoveryType.EDS
          && !assigned.contains(c.getEdsClusterConfig().getServiceName())) {
        out.add(
            "cluster "
                + c.getName()
                + ": EDS service "
                + c.getEdsClusterConfig().getServiceName()
                + " has no assignment");
      }
      if (!c.hasConnectTimeout()) {
        out.add("cluster " + c.getName() + ": connect_timeout missing");
      }
    }
    for (Listener l : r.listeners()) {
      if (!l.hasAddress() && !l.hasApiListener()) {
        out.add("listener " + l.getName() + ": needs an address or api_listener");
      }
      if (l.hasApiListener()) {
        hcm(
            out,
            "listener " + l.getName(),
            unpack(
                out, l.getName(), l.getApiListener().getApiListener(), HttpConnectionManager.class),
            routes,
            clusters);
      }
      List<FilterChain> chains = new ArrayList<>(l.getFilterChainsList());
      if (l.hasDefaultFilterChain()) {
        chains.add(l.getDefaultFilterChain());
      }
      if (l.hasAddress() && chains.isEmpty()) {
        out.add("listener " + l.getName() + ": no filter chains");
      }
      for (FilterChain fc : chains) {
        for (Filter f : fc.getFiltersList()) {
          String where = "listener " + l.getName() + " filter " + f.getName();
          if (f.getName().equals(Envoy.HCM)) {
            hcm(
                out,
                where,
                unpack(out, where, f.getTypedConfig(), HttpConnectionManager.class),
                routes,
                clusters);
          } else if (f.getName().equals(Envoy.TCP_PROXY)) {
            TcpProxy tp = unpack(out, where, f.getTypedConfig(), TcpProxy.class);
            if (tp != null && !clusters.contains(tp.getCluster())) {
              out.add(where + ": cluster " + tp.getCluster() + " undefined");
            }
          } else if (f.getName().equals(Observability.STATS_FILTER)) {
            unpack(out, where, f.getTypedConfig(), com.github.xds.type.v3.TypedStruct.class);
          } else {
            out.add(where + ": unknown network filter");
          }
        }
      }
    }
    for (RouteConfiguration rc : r.routes()) {
      routeConfig(out, rc, clusters);
    }
    try {
      for (var m : r.listeners()) {
        com.google.protobuf.util.JsonFormat.parser()
            .usingTypeRegistry(EnvoyJson.TYPES)
            .merge(EnvoyJson.print(m), Listener.newBuilder());
      }
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      out.add("listeners do not round-trip through JSON: " + e.getMessage());
    }
    return out;
  }

  private static void hcm(
      List<String> out,
      String where,
      HttpConnectionManager hcm,
      Set<String> routes,
      Set<String> clusters) {
    if (hcm == null) {
      return;
    }
    if (hcm.hasRds() && !routes.contains(hcm.getRds().getRouteConfigName())) {
      out.add(where + ": route config " + hcm.getRds().getRouteConfigName() + " is not served");
    }
    if (hcm.hasRouteConfig()) {
      routeConfig(out, hcm.getRouteConfig(), clusters);
    }
    if (hcm.getHttpFiltersCount() == 0
        || !hcm.getHttpFilters(hcm.getHttpFiltersCount() - 1).getName().equals(Envoy.ROUTER)) {
      out.add(where + ": the router must be the last HTTP filter");
    }
  }

  private static void routeConfig(List<String> out, RouteConfiguration rc, Set<String> clusters) {
    Set<String> vhNames = new HashSet<>();
    Set<String> domains = new HashSet<>();
    for (VirtualHost vh : rc.getVirtualHostsList()) {
      if (!vhNames.add(vh.getName())) {
        out.add("route config " + rc.getName() + ": duplicate virtual host " + vh.getName());
      }
      for (String d : vh.getDomainsList()) {
        if (!domains.add(d)) {
          out.add("route config " + rc.getName() + ": domain " + d + " in two virtual hosts");
        }
      }
      for (Route route : vh.getRoutesList()) {
        String where = "route config " + rc.getName() + " vhost " + vh.getName();
        if (!route.hasRoute() && !route.hasRedirect() && !route.hasDirectResponse()) {
          out.add(where + ": route without an action");
        }
        if (route.hasRoute()) {
          var a = route.getRoute();
          List<String> named = new ArrayList<>();
          if (!a.getCluster().isEmpty()) {
            named.add(a.getCluster());
          }
          a.getWeightedClusters().getClustersList().forEach(c -> named.add(c.getName()));
          a.getRequestMirrorPoliciesList().forEach(m -> named.add(m.getCluster()));
          if (named.isEmpty()) {
            out.add(where + ": route names no cluster");
          }
          named.stream()
              .filter(n -> !clusters.contains(n))
              .forEach(n -> out.add(where + ": cluster " + n + " undefined"));
        }
      }
    }
  }

  private static <T extends com.google.protobuf.Message> T unpack(
      List<String> out, String where, com.google.protobuf.Any any, Class<T> type) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      out.add(where + ": typed config is not a " + type.getSimpleName());
      return null;
    }
  }

  private static Set<String> unique(List<String> out, String what, List<String> names) {
    Set<String> seen = new HashSet<>();
    for (String n : names) {
      if (n.isEmpty()) {
        out.add(what + " without a name");
      } else if (!seen.add(n)) {
        out.add("duplicate " + what + " " + n);
      }
    }
    return seen;
  }
}
