package io.qmesh.proxy;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.qmesh.proxy.cluster.LoadBalancer;
import io.qmesh.proxy.cluster.UpstreamCluster;
import io.qmesh.proxy.cluster.UpstreamHost;
import io.qmesh.proxy.route.RouteTable;
import io.qmesh.proxy.security.PeerAuthMode;
import io.qmesh.proxy.telemetry.AccessLog;
import io.qmesh.proxy.telemetry.IstioMetrics;
import io.qmesh.proxy.telemetry.Observers;
import io.qmesh.proxy.telemetry.TracePolicy;
import io.qmesh.proxy.xds.TypedConfigs;
import io.qmesh.proxy.xds.XdsResources;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything the request path reads, compiled from the xDS resources and immutable: route tables by
 * name, clusters with their hosts, balancer and upstream protocol, the TCP services by port, and
 * the tracing and access logs of each connection manager by its route config's name. A new one
 * replaces the old whole; requests in flight keep the one they started with.
 */
public record ProxyConfig(
    Map<String, RouteTable> routes,
    Map<String, ClusterRuntime> clusters,
    Map<Integer, String> tcpRoutes,
    Map<String, Observers> observers,
    Map<Integer, PeerAuthMode> peerAuthentication) {

  public static final ProxyConfig EMPTY =
      new ProxyConfig(Map.of(), Map.of(), Map.of(), Map.of(), Map.of());

  /** What the inbound listener for a target port accepts; plaintext until pilot says otherwise. */
  public PeerAuthMode peerAuthentication(int targetPort) {
    return peerAuthentication.getOrDefault(targetPort, PeerAuthMode.DISABLE);
  }

  /** The protocol a cluster's upstream connections speak. */
  public enum UpstreamProtocol {
    HTTP1,
    /** HTTP/2, in clear text with prior knowledge (h2c) as Envoy does without TLS. */
    HTTP2,
    /** Whatever the downstream request came in with (Istio's inbound clusters of HTTP ports). */
    DOWNSTREAM
  }

  /**
   * A cluster ready to balance: its xDS definition, its live side (hosts, balancer, outlier
   * detection, circuit breakers), its upstream protocol and connection settings, and the service
   * host it is for (outbound clusters; null otherwise).
   */
  public record ClusterRuntime(
      Cluster cluster,
      UpstreamCluster upstream,
      UpstreamProtocol protocol,
      Connections connections,
      String service,
      UpstreamTls tls) {

    public List<UpstreamHost> hosts() {
      return upstream.hosts();
    }

    public LoadBalancer balancer() {
      return upstream.balancer();
    }

    /** This cluster with one host only: an ORIGINAL_DST cluster's for one request. */
    public ClusterRuntime withOnly(UpstreamHost host) {
      return new ClusterRuntime(
          cluster,
          UpstreamCluster.of(cluster, List.of(host), null),
          protocol,
          connections,
          service,
          tls);
    }

    /** Whether a request to {@code host} goes over Istio's mutual TLS. */
    public boolean tlsTo(UpstreamHost host) {
      return tls != null && (tls.always() || host.meshTls());
    }
  }

  /**
   * Istio's mutual TLS to a cluster's hosts: to every host (a DestinationRule's {@code
   * ISTIO_MUTUAL}, the cluster's {@code transport_socket}) or to those whose endpoint says {@code
   * tlsMode: istio} (auto mTLS, the cluster's {@code transport_socket_matches}); the server's
   * SPIFFE id must be one of {@code identities} (any mesh identity when empty); or TLS origination
   * with the user's certificates ({@code origination}, to every host). {@code clientKey} names the
   * identities in order, or the origination's settings, so clusters with the same share clients.
   */
  public record UpstreamTls(
      boolean always,
      java.util.Set<String> identities,
      String clientKey,
      io.qmesh.proxy.security.Origination origination) {
    public UpstreamTls(boolean always, java.util.Set<String> identities) {
      this(always, identities, String.join(",", new java.util.TreeSet<>(identities)), null);
    }

    /**
     * TLS with the user's certificates to every host (a DestinationRule's {@code SIMPLE} or {@code
     * MUTUAL}) instead of Istio's mutual TLS.
     */
    public static UpstreamTls originating(io.qmesh.proxy.security.Origination origination) {
      return new UpstreamTls(true, java.util.Set.of(), origination.key(), origination);
    }
  }

  /**
   * How a cluster's upstream connections are made and kept: the connect timeout, the idle timeout
   * (0 = the client's default) and the requests one connection carries (0 = no limit), from the
   * cluster and its {@code HttpProtocolOptions}.
   */
  public record Connections(
      long connectTimeoutMillis, int idleTimeoutSeconds, int maxRequestsPerConnection) {}

  /** {@link #compile(XdsResources, ProxyConfig)} with nothing to take over. */
  public static ProxyConfig compile(XdsResources r) {
    return compile(r, EMPTY);
  }

  /**
   * Compiles the resources, taking over from {@code previous} (the config in force) the live state
   * of the clusters that stay: their hosts' ejections and requests in flight, their breakers'
   * counts.
   *
   * @throws io.qmesh.proxy.route.RouteConfigException (or another RuntimeException) saying why the
   *     resources cannot run; the xDS client NACKs with that message
   */
  public static ProxyConfig compile(XdsResources r, ProxyConfig previous) {
    Map<String, RouteTable> routes = new HashMap<>();
    for (RouteConfiguration rc : r.routes().values()) {
      routes.put(rc.getName(), RouteTable.compile(rc));
    }
    // Route configs inline in listeners (virtualInbound's, per target port) are looked up by name
    // too.
    for (RouteConfiguration rc : inlineRoutes(r.listeners().values())) {
      routes.put(rc.getName(), RouteTable.compile(rc));
    }
    Map<String, ClusterRuntime> clusters = new HashMap<>();
    for (Cluster c : r.clusters().values()) {
      ClusterLoadAssignment cla =
          switch (c.getType()) {
            case EDS ->
                r.endpoints()
                    .get(
                        c.getEdsClusterConfig().getServiceName().isEmpty()
                            ? c.getName()
                            : c.getEdsClusterConfig().getServiceName());
            default -> c.getLoadAssignment();
          };
      ClusterRuntime before = previous.clusters().get(c.getName());
      HttpProtocolOptions options = httpOptions(c);
      clusters.put(
          c.getName(),
          new ClusterRuntime(
              c,
              UpstreamCluster.of(c, hosts(cla), before == null ? null : before.upstream()),
              protocol(options),
              connections(c, options),
              service(c.getName()),
              Tls.upstream(c, options)));
    }
    return new ProxyConfig(
        Map.copyOf(routes),
        Map.copyOf(clusters),
        tcpRoutes(r.listeners()),
        observers(r.listeners().values(), clusters),
        Tls.peerAuthentication(r.listeners().get(io.qmesh.api.MeshNames.VIRTUAL_INBOUND)));
  }

  private static final String HTTP_OPTIONS =
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  /** The cluster's {@code envoy.extensions.upstreams.http.v3.HttpProtocolOptions}, or defaults. */
  private static HttpProtocolOptions httpOptions(Cluster c) {
    var any = c.getTypedExtensionProtocolOptionsMap().get(HTTP_OPTIONS);
    if (any == null) {
      return HttpProtocolOptions.getDefaultInstance();
    }
    try {
      return TypedConfigs.unpack(
          any, HttpProtocolOptions.getDescriptor(), HttpProtocolOptions.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(
          "cluster " + c.getName() + ": " + HTTP_OPTIONS + " does not decode: " + e.getMessage());
    }
  }

  /**
   * The service host an outbound cluster is for ({@code outbound|9080|v1|reviews.default.svc...}),
   * or null for other clusters.
   */
  private static String service(String cluster) {
    String[] parts = cluster.split("\\|", -1);
    return parts.length == 4 && parts[0].equals("outbound") && !parts[3].isEmpty()
        ? parts[3]
        : null;
  }

  private static UpstreamProtocol protocol(HttpProtocolOptions o) {
    if (o.hasUseDownstreamProtocolConfig()) {
      return UpstreamProtocol.DOWNSTREAM;
    }
    return o.hasExplicitHttpConfig() && o.getExplicitHttpConfig().hasHttp2ProtocolOptions()
        ? UpstreamProtocol.HTTP2
        : UpstreamProtocol.HTTP1;
  }

  private static Connections connections(Cluster c, HttpProtocolOptions o) {
    var common = o.getCommonHttpProtocolOptions();
    long connect =
        c.hasConnectTimeout()
            ? c.getConnectTimeout().getSeconds() * 1000
                + c.getConnectTimeout().getNanos() / 1_000_000
            : 5000;
    int idle =
        common.hasIdleTimeout()
            ? (int) Math.max(1, Math.min(Integer.MAX_VALUE, common.getIdleTimeout().getSeconds()))
            : 0;
    int perConnection =
        common.hasMaxRequestsPerConnection() ? common.getMaxRequestsPerConnection().getValue() : 0;
    return new Connections(Math.max(1, connect), idle, perConnection);
  }

  /**
   * The outbound TCP services by port: listeners {@code 0.0.0.0_<port>} whose filter is a TCP
   * proxy, to its cluster. A laptop app reaches them with CONNECT through the outbound listener.
   */
  private static Map<Integer, String> tcpRoutes(Map<String, Listener> listeners) {
    Map<Integer, String> out = new HashMap<>();
    for (Listener l : listeners.values()) {
      if (!l.getName().startsWith("0.0.0.0_")) {
        continue;
      }
      for (FilterChain fc : l.getFilterChainsList()) {
        for (Filter f : fc.getFiltersList()) {
          if (TypedConfigs.is(f.getTypedConfig(), TcpProxy.getDescriptor())) {
            try {
              out.put(
                  l.getAddress().getSocketAddress().getPortValue(),
                  TypedConfigs.unpack(
                          f.getTypedConfig(), TcpProxy.getDescriptor(), TcpProxy.parser())
                      .getCluster());
            } catch (InvalidProtocolBufferException e) {
              throw new IllegalArgumentException(
                  "listener " + l.getName() + ": tcp proxy does not decode: " + e.getMessage());
            }
          }
        }
      }
    }
    return Map.copyOf(out);
  }

  /**
   * The tracing and access logs of each HTTP connection manager, by the name of its route config
   * (RDS or inline), which is how listeners find them.
   */
  private static Map<String, Observers> observers(
      Iterable<Listener> listeners, Map<String, ClusterRuntime> clusters) {
    Map<String, Observers> out = new HashMap<>();
    for (Listener l : listeners) {
      for (FilterChain fc : chains(l)) {
        for (Filter f : fc.getFiltersList()) {
          if (TypedConfigs.is(f.getTypedConfig(), TcpProxy.getDescriptor())) {
            tcpObservers(l, fc, f, out);
            continue;
          }
          if (!TypedConfigs.is(f.getTypedConfig(), HttpConnectionManager.getDescriptor())) {
            continue;
          }
          HttpConnectionManager hcm;
          try {
            hcm =
                TypedConfigs.unpack(
                    f.getTypedConfig(),
                    HttpConnectionManager.getDescriptor(),
                    HttpConnectionManager.parser());
          } catch (InvalidProtocolBufferException e) {
            continue; // inlineRoutes reports it
          }
          String name =
              hcm.hasRds()
                  ? hcm.getRds().getRouteConfigName()
                  : hcm.hasRouteConfig() ? hcm.getRouteConfig().getName() : null;
          if (name == null) {
            continue;
          }
          try {
            TracePolicy tracing =
                hcm.hasTracing()
                    ? TracePolicy.compile(hcm.getTracing(), c -> firstHost(clusters.get(c)))
                    : null;
            List<AccessLog> logs = new ArrayList<>();
            hcm.getAccessLogList().forEach(a -> logs.add(AccessLog.compile(a)));
            int dropped = 0;
            for (var h : hcm.getHttpFiltersList()) {
              dropped |= IstioMetrics.dropMask(h.getName(), h.getTypedConfig());
            }
            Observers o = new Observers(tracing, List.copyOf(logs), dropped);
            if (!o.idle()) {
              out.put(name, o);
            }
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("listener " + l.getName() + ": " + e.getMessage());
          }
        }
      }
    }
    return Map.copyOf(out);
  }

  /** A TCP proxy's access logs, by {@code tcp|<cluster>}. */
  private static void tcpObservers(
      Listener l, FilterChain chain, Filter f, Map<String, Observers> out) {
    try {
      TcpProxy tcp =
          TypedConfigs.unpack(f.getTypedConfig(), TcpProxy.getDescriptor(), TcpProxy.parser());
      int dropped = 0;
      for (Filter other : chain.getFiltersList()) {
        dropped |= IstioMetrics.dropMask(other.getName(), other.getTypedConfig());
      }
      List<AccessLog> logs = new ArrayList<>();
      tcp.getAccessLogList().forEach(a -> logs.add(AccessLog.compile(a)));
      Observers o = new Observers(null, List.copyOf(logs), dropped);
      if (o.idle()) {
        return;
      }
      out.put(io.qmesh.proxy.listener.TcpProxy.TCP_OBSERVERS + tcp.getCluster(), o);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(
          "listener " + l.getName() + ": tcp proxy does not decode: " + e.getMessage());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("listener " + l.getName() + ": " + e.getMessage());
    }
  }

  private static String firstHost(ClusterRuntime c) {
    if (c == null || c.hosts().isEmpty()) {
      return null;
    }
    UpstreamHost h = c.hosts().get(0);
    return h.hostPort();
  }

  /** A listener's filter chains, its default chain last. */
  private static List<FilterChain> chains(Listener l) {
    if (!l.hasDefaultFilterChain()) {
      return l.getFilterChainsList();
    }
    List<FilterChain> chains = new ArrayList<>(l.getFilterChainsList());
    chains.add(l.getDefaultFilterChain());
    return chains;
  }

  private static List<RouteConfiguration> inlineRoutes(Iterable<Listener> listeners) {
    List<RouteConfiguration> out = new ArrayList<>();
    for (Listener l : listeners) {
      for (FilterChain fc : chains(l)) {
        for (Filter f : fc.getFiltersList()) {
          if (TypedConfigs.is(f.getTypedConfig(), HttpConnectionManager.getDescriptor())) {
            try {
              HttpConnectionManager hcm =
                  TypedConfigs.unpack(
                      f.getTypedConfig(),
                      HttpConnectionManager.getDescriptor(),
                      HttpConnectionManager.parser());
              if (hcm.hasRouteConfig()) {
                out.add(hcm.getRouteConfig());
              }
            } catch (InvalidProtocolBufferException e) {
              throw new IllegalArgumentException(
                  "listener "
                      + l.getName()
                      + ": connection manager does not decode: "
                      + e.getMessage());
            }
          }
        }
      }
    }
    return out;
  }

  private static List<UpstreamHost> hosts(ClusterLoadAssignment cla) {
    List<UpstreamHost> out = new ArrayList<>();
    if (cla == null) {
      return out;
    }
    for (LocalityLbEndpoints locality : cla.getEndpointsList()) {
      for (LbEndpoint e : locality.getLbEndpointsList()) {
        var sa = e.getEndpoint().getAddress().getSocketAddress();
        out.add(
            new UpstreamHost(
                sa.getAddress(),
                sa.getPortValue(),
                e.hasLoadBalancingWeight() ? e.getLoadBalancingWeight().getValue() : 1,
                Tls.meshTls(e)));
      }
    }
    return out;
  }
}
