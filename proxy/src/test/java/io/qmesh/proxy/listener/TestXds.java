package io.qmesh.proxy.listener;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;

/** Small xDS resources for the listener tests, as pilot would send them. */
final class TestXds {

  private TestXds() {}

  /** An EDS cluster whose service name is its name. */
  static Cluster.Builder eds(String name) {
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setServiceName(name));
  }

  /** Endpoints on 127.0.0.1 at {@code ports}. */
  static ClusterLoadAssignment cla(String name, int... ports) {
    LocalityLbEndpoints.Builder l = LocalityLbEndpoints.newBuilder();
    for (int p : ports) {
      l.addLbEndpoints(
          LbEndpoint.newBuilder()
              .setEndpoint(
                  Endpoint.newBuilder()
                      .setAddress(
                          Address.newBuilder()
                              .setSocketAddress(
                                  SocketAddress.newBuilder()
                                      .setAddress("127.0.0.1")
                                      .setPortValue(p)))));
    }
    return ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(l).build();
  }

  static Route to(String prefix, String cluster) {
    return Route.newBuilder()
        .setMatch(RouteMatch.newBuilder().setPrefix(prefix))
        .setRoute(RouteAction.newBuilder().setCluster(cluster))
        .build();
  }

  /** Route config {@code name}: {@code host} and {@code host:name} to {@code cluster}. */
  static RouteConfiguration routes(String name, String host, String cluster) {
    return RouteConfiguration.newBuilder()
        .setName(name)
        .addVirtualHosts(
            VirtualHost.newBuilder()
                .setName(host)
                .addDomains(host)
                .addDomains(host + ":" + name)
                .addRoutes(to("/", cluster)))
        .build();
  }

  /**
   * The route config with Istio's default retry policy on every route, as pilot writes it: two
   * retries on connect-failure, refused-stream, unavailable, cancelled and a 503 answer, on other
   * hosts.
   */
  static RouteConfiguration withIstioRetries(RouteConfiguration rc) {
    RouteConfiguration.Builder b = rc.toBuilder();
    for (VirtualHost.Builder vh : b.getVirtualHostsBuilderList()) {
      for (Route.Builder r : vh.getRoutesBuilderList()) {
        r.getRouteBuilder()
            .setRetryPolicy(
                io.envoyproxy.envoy.config.route.v3.RetryPolicy.newBuilder()
                    .setRetryOn(
                        "connect-failure,refused-stream,unavailable,cancelled,"
                            + "retriable-status-codes")
                    .addRetriableStatusCodes(503)
                    .setNumRetries(com.google.protobuf.UInt32Value.of(2))
                    .addRetryHostPredicate(
                        io.envoyproxy.envoy.config.route.v3.RetryPolicy.RetryHostPredicate
                            .newBuilder()
                            .setName("envoy.retry_host_predicates.previous_hosts"))
                    .setHostSelectionRetryMaxAttempts(5));
      }
    }
    return b.build();
  }

  /** Listener {@code 0.0.0.0_<port>} with one network filter. */
  static Listener.Builder listener(int port, String filter, Message config) {
    return Listener.newBuilder()
        .setName("0.0.0.0_" + port)
        .setAddress(
            Address.newBuilder()
                .setSocketAddress(
                    SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(port)))
        .addFilterChains(
            FilterChain.newBuilder()
                .addFilters(Filter.newBuilder().setName(filter).setTypedConfig(Any.pack(config))));
  }
}
