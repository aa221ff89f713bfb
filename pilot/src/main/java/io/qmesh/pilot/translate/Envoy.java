package io.qmesh.pilot.translate;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.time.Duration;
import java.util.List;

/** Small builders for Envoy messages that every generator uses. */
final class Envoy {

  static final String HCM = "envoy.filters.network.http_connection_manager";
  static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";
  static final String FAULT = "envoy.filters.http.fault";
  static final String CORS = "envoy.filters.http.cors";
  static final String ROUTER = "envoy.filters.http.router";

  private Envoy() {}

  static ConfigSource ads() {
    return ConfigSource.newBuilder()
        .setAds(AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3)
        .build();
  }

  static Address address(String host, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
        .build();
  }

  static com.google.protobuf.Duration duration(Duration d) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(d.getSeconds())
        .setNanos(d.getNano())
        .build();
  }

  /** A percentage of 0-100 as Envoy's fraction over a million, as Istio writes it. */
  static FractionalPercent percent(Double value) {
    double v = value == null ? 100.0 : value;
    return FractionalPercent.newBuilder()
        .setNumerator((int) Math.round(v * 10_000))
        .setDenominator(FractionalPercent.DenominatorType.MILLION)
        .build();
  }

  /** The HTTP filters of every connection manager, in Istio's order: CORS, fault, router. */
  static List<HttpFilter> httpFilters() {
    return List.of(
        HttpFilter.newBuilder()
            .setName(CORS)
            .setTypedConfig(
                Any.pack(
                    io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors.getDefaultInstance()))
            .build(),
        HttpFilter.newBuilder()
            .setName(FAULT)
            .setTypedConfig(Any.pack(HTTPFault.getDefaultInstance()))
            .build(),
        HttpFilter.newBuilder()
            .setName(ROUTER)
            .setTypedConfig(Any.pack(Router.getDefaultInstance()))
            .build());
  }

  /**
   * A proxyless gRPC client's connection manager: fault and router only, the filters grpc-java
   * implements (it refuses a listener with any other).
   */
  static HttpConnectionManager proxylessManager(String name) {
    return rdsManager(name, name).toBuilder()
        .clearHttpFilters()
        .addAllHttpFilters(httpFilters().stream().filter(f -> !f.getName().equals(CORS)).toList())
        .build();
  }

  /** A connection manager that takes its routes from RDS. */
  static HttpConnectionManager rdsManager(String statPrefix, String routeName) {
    return HttpConnectionManager.newBuilder()
        .setStatPrefix(statPrefix)
        .setRds(Rds.newBuilder().setConfigSource(ads()).setRouteConfigName(routeName))
        .addAllHttpFilters(httpFilters())
        .build();
  }

  static Filter filter(String name, Message config) {
    return Filter.newBuilder().setName(name).setTypedConfig(Any.pack(config)).build();
  }

  static Filter tcpProxy(String statPrefix, String cluster) {
    return tcpProxy(statPrefix, cluster, List.of());
  }

  /** A TCP proxy whose connections are access-logged as {@code accessLogs} say. */
  static Filter tcpProxy(
      String statPrefix,
      String cluster,
      List<io.envoyproxy.envoy.config.accesslog.v3.AccessLog> accessLogs) {
    return filter(
        TCP_PROXY,
        TcpProxy.newBuilder()
            .setStatPrefix(statPrefix)
            .setCluster(cluster)
            .addAllAccessLog(accessLogs)
            .build());
  }
}
