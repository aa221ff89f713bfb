package io.qmesh.pilot.translate;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.UInt64Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig;
import io.envoyproxy.envoy.type.v3.Percent;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBMaglev;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsSimple;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsSimpleLB;
import io.qmesh.api.Durations;
import io.qmesh.api.MeshNames;
import io.qmesh.pilot.model.MeshService;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.Protocol;
import io.qmesh.pilot.model.ProxyNode;
import io.qmesh.pilot.model.ServicePort;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Outbound, inbound and built-in clusters, with the DestinationRule's policies applied. */
final class Clusters {

  /** Istio's default connect timeout. */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  static final String INBOUND_PASSTHROUGH = "InboundPassthroughClusterIpv4";
  private static final long UNLIMITED = 4294967295L;
  static final String HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  private Clusters() {}

  /** A cluster to build: one service port, optionally narrowed to a subset. */
  record Spec(
      String name,
      MeshService service,
      ServicePort port,
      String subset,
      java.util.Map<String, String> subsetLabels) {}

  /**
   * Every outbound cluster a proxy in {@code proxy}'s namespace needs: per service port and subset.
   */
  static List<Spec> outboundSpecs(MeshSnapshot mesh, ProxyNode proxy) {
    List<Spec> out = new ArrayList<>();
    var scope = mesh.sidecarScope(proxy);
    for (MeshService s : mesh.services()) {
      if (!s.visibleFrom(proxy.namespace())) {
        continue;
      }
      var dr = mesh.destinationRule(s.hostname(), proxy.namespace(), s.namespace());
      for (ServicePort p : s.ports()) {
        if (!scope.imports(s, p.port())) {
          continue;
        }
        out.add(
            new Spec(MeshNames.outboundCluster(p.port(), null, s.hostname()), s, p, null, null));
        dr.ifPresent(
            rule ->
                rule.spec()
                    .getSubsets()
                    .forEach(
                        sub ->
                            out.add(
                                new Spec(
                                    MeshNames.outboundCluster(
                                        p.port(), sub.getName(), s.hostname()),
                                    s,
                                    p,
                                    sub.getName(),
                                    sub.getLabels()))));
      }
    }
    return out;
  }

  static Cluster outbound(
      MeshSnapshot mesh,
      ProxyNode proxy,
      Spec spec,
      List<io.qmesh.pilot.model.Endpoint> dnsEndpoints) {
    Policy policy =
        Policy.of(mesh, proxy.namespace(), spec.service(), spec.port().port(), spec.subset());
    Cluster.Builder c =
        Cluster.newBuilder()
            .setName(spec.name())
            .setConnectTimeout(Envoy.duration(connectTimeout(policy)));
    switch (spec.service().resolution()) {
      case DNS -> {
        c.setType(Cluster.DiscoveryType.STRICT_DNS)
            .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_ONLY);
        c.setLoadAssignment(Endpoints.assignment(spec.name(), dnsEndpoints));
      }
      case NONE ->
          c.setType(Cluster.DiscoveryType.ORIGINAL_DST)
              .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED);
      default ->
          c.setType(Cluster.DiscoveryType.EDS)
              .setEdsClusterConfig(
                  Cluster.EdsClusterConfig.newBuilder()
                      .setEdsConfig(Envoy.ads())
                      .setServiceName(spec.name()));
    }
    if (spec.service().resolution() != MeshService.Resolution.NONE) {
      loadBalancer(c, policy, proxy.proxyless());
    }
    circuitBreakers(c, policy);
    outlierDetection(c, policy);
    if (!proxyOnlyTcp(spec.port()) && !proxy.proxyless()) {
      c.putTypedExtensionProtocolOptions(HTTP_OPTIONS, Any.pack(httpOptions(spec.port(), policy)));
    }
    if (!proxy.proxyless() && spec.service().resolution() != MeshService.Resolution.NONE) {
      Security.outbound(c, policy, dnsEndpoints);
    }
    return c.build();
  }

  private static boolean proxyOnlyTcp(ServicePort p) {
    return !p.protocol().isHttp();
  }

  private static Duration connectTimeout(Policy p) {
    if (p.connectionPool() != null
        && p.connectionPool().getTcp() != null
        && p.connectionPool().getTcp().getConnectTimeout() != null) {
      return Durations.parse(p.connectionPool().getTcp().getConnectTimeout());
    }
    return CONNECT_TIMEOUT;
  }

  private static void loadBalancer(Cluster.Builder c, Policy p, boolean proxyless) {
    var hash = p.consistentHash();
    if (hash.isPresent()) {
      if (hash.get().getHashAlgorithm() instanceof LoadBalancerSettingsConsistentHashLBMaglev m) {
        c.setLbPolicy(Cluster.LbPolicy.MAGLEV);
        if (m.getMaglev() != null && m.getMaglev().getTableSize() != null) {
          c.setMaglevLbConfig(
              Cluster.MaglevLbConfig.newBuilder()
                  .setTableSize(UInt64Value.of(m.getMaglev().getTableSize())));
        }
      } else {
        c.setLbPolicy(Cluster.LbPolicy.RING_HASH);
        if (hash.get().getMinimumRingSize() != null) {
          c.setRingHashLbConfig(
              Cluster.RingHashLbConfig.newBuilder()
                  .setMinimumRingSize(UInt64Value.of(hash.get().getMinimumRingSize())));
        }
      }
      return;
    }
    LoadBalancerSettingsSimpleLB simple =
        p.loadBalancer() != null
                && p.loadBalancer().getLbPolicy() instanceof LoadBalancerSettingsSimple s
            ? s.getSimple()
            : null;
    if (simple == null
        || simple == LoadBalancerSettingsSimpleLB.UNSPECIFIED
        || simple == LoadBalancerSettingsSimpleLB.LEAST_REQUEST
        || simple == LoadBalancerSettingsSimpleLB.LEAST_CONN) {
      // Istio's default is LEAST_REQUEST; proxyless gRPC clients get ROUND_ROBIN, which every
      // grpc-xds version supports.
      c.setLbPolicy(proxyless ? Cluster.LbPolicy.ROUND_ROBIN : Cluster.LbPolicy.LEAST_REQUEST);
    } else if (simple == LoadBalancerSettingsSimpleLB.ROUND_ROBIN) {
      c.setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
    } else if (simple == LoadBalancerSettingsSimpleLB.RANDOM) {
      c.setLbPolicy(Cluster.LbPolicy.RANDOM);
    } else if (simple == LoadBalancerSettingsSimpleLB.PASSTHROUGH) {
      c.setType(Cluster.DiscoveryType.ORIGINAL_DST)
          .clearEdsClusterConfig()
          .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED);
    }
  }

  private static void circuitBreakers(Cluster.Builder c, Policy p) {
    CircuitBreakers.Thresholds.Builder t =
        CircuitBreakers.Thresholds.newBuilder()
            .setMaxConnections(UInt32Value.of((int) UNLIMITED))
            .setMaxPendingRequests(UInt32Value.of((int) UNLIMITED))
            .setMaxRequests(UInt32Value.of((int) UNLIMITED))
            .setMaxRetries(UInt32Value.of((int) UNLIMITED));
    var pool = p.connectionPool();
    if (pool != null && pool.getTcp() != null && pool.getTcp().getMaxConnections() != null) {
      t.setMaxConnections(UInt32Value.of(pool.getTcp().getMaxConnections()));
    }
    if (pool != null && pool.getHttp() != null) {
      var h = pool.getHttp();
      if (h.getHttp1MaxPendingRequests() != null) {
        t.setMaxPendingRequests(UInt32Value.of(h.getHttp1MaxPendingRequests()));
      }
      if (h.getHttp2MaxRequests() != null) {
        t.setMaxRequests(UInt32Value.of(h.getHttp2MaxRequests()));
      }
      if (h.getMaxRetries() != null) {
        t.setMaxRetries(UInt32Value.of(h.getMaxRetries()));
      }
    }
    c.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(t));
  }

  private static void outlierDetection(Cluster.Builder c, Policy p) {
    var od = p.outlierDetection();
    if (od == null) {
      return;
    }
    OutlierDetection.Builder o =
        OutlierDetection.newBuilder()
            .setInterval(
                Envoy.duration(
                    od.getInterval() == null
                        ? Duration.ofSeconds(10)
                        : Durations.parse(od.getInterval())))
            .setBaseEjectionTime(
                Envoy.duration(
                    od.getBaseEjectionTime() == null
                        ? Duration.ofSeconds(30)
                        : Durations.parse(od.getBaseEjectionTime())))
            .setMaxEjectionPercent(
                UInt32Value.of(
                    od.getMaxEjectionPercent() == null ? 10 : od.getMaxEjectionPercent()));
    Integer fiveXx =
        od.getConsecutive5xxErrors() != null
            ? od.getConsecutive5xxErrors()
            : od.getConsecutiveErrors();
    o.setConsecutive5Xx(UInt32Value.of(fiveXx == null ? 5 : fiveXx));
    o.setEnforcingConsecutive5Xx(UInt32Value.of(fiveXx != null && fiveXx == 0 ? 0 : 100));
    if (od.getConsecutiveGatewayErrors() != null) {
      o.setConsecutiveGatewayFailure(UInt32Value.of(od.getConsecutiveGatewayErrors()));
      o.setEnforcingConsecutiveGatewayFailure(UInt32Value.of(100));
    }
    c.setOutlierDetection(o);
    // As Istio: minHealthPercent is the panic threshold, 0 (panic mode off) when not given.
    c.setCommonLbConfig(
        Cluster.CommonLbConfig.newBuilder()
            .setHealthyPanicThreshold(
                Percent.newBuilder()
                    .setValue(od.getMinHealthPercent() == null ? 0 : od.getMinHealthPercent())));
  }

  private static boolean speaksHttp2(Protocol p) {
    return p == Protocol.HTTP2 || p == Protocol.GRPC;
  }

  /** HTTP/2 for HTTP2 and gRPC ports, HTTP/1.1 for the rest. */
  private static ExplicitHttpConfig explicitConfig(Protocol p) {
    return speaksHttp2(p)
        ? ExplicitHttpConfig.newBuilder()
            .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance())
            .build()
        : ExplicitHttpConfig.newBuilder()
            .setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance())
            .build();
  }

  private static io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions httpOptions(
      ServicePort port, Policy p) {
    var out = io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.newBuilder();
    out.setExplicitHttpConfig(explicitConfig(port.protocol()));
    var pool = p.connectionPool();
    if (pool != null && pool.getHttp() != null) {
      HttpProtocolOptions.Builder common = HttpProtocolOptions.newBuilder();
      if (pool.getHttp().getIdleTimeout() != null) {
        common.setIdleTimeout(Envoy.duration(Durations.parse(pool.getHttp().getIdleTimeout())));
      }
      if (pool.getHttp().getMaxRequestsPerConnection() != null
          && pool.getHttp().getMaxRequestsPerConnection() > 0) {
        common.setMaxRequestsPerConnection(
            UInt32Value.of(pool.getHttp().getMaxRequestsPerConnection()));
      }
      out.setCommonHttpProtocolOptions(common);
    }
    return out.build();
  }

  /** The clusters every proxy has: the black hole, and passthrough to the original destination. */
  static List<Cluster> builtIn() {
    return List.of(
        Cluster.newBuilder()
            .setName(MeshNames.BLACKHOLE_CLUSTER)
            .setType(Cluster.DiscoveryType.STATIC)
            .setConnectTimeout(Envoy.duration(CONNECT_TIMEOUT))
            .setLoadAssignment(
                ClusterLoadAssignment.newBuilder().setClusterName(MeshNames.BLACKHOLE_CLUSTER))
            .build(),
        Cluster.newBuilder()
            .setName(MeshNames.PASSTHROUGH_CLUSTER)
            .setType(Cluster.DiscoveryType.ORIGINAL_DST)
            .setConnectTimeout(Envoy.duration(CONNECT_TIMEOUT))
            .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
            .build());
  }

  /**
   * Inbound: the sidecar's own workload, one cluster per target port, to the app on localhost. As
   * Istio does, an HTTP2/gRPC port speaks HTTP/2 to the app, a plain HTTP port the protocol the
   * request came in with, and a TCP port carries no HTTP options.
   */
  static Cluster inbound(int targetPort, int appPort, Protocol protocol) {
    String name = MeshNames.inboundCluster(targetPort);
    Cluster.Builder c = Cluster.newBuilder();
    if (speaksHttp2(protocol)) {
      c.putTypedExtensionProtocolOptions(
          HTTP_OPTIONS,
          Any.pack(
              io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.newBuilder()
                  .setExplicitHttpConfig(explicitConfig(protocol))
                  .build()));
    } else if (protocol.isHttp()) {
      c.putTypedExtensionProtocolOptions(
          HTTP_OPTIONS,
          Any.pack(
              io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.newBuilder()
                  .setUseDownstreamProtocolConfig(
                      io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                          .UseDownstreamHttpConfig.newBuilder()
                          .setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance())
                          .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
                  .build()));
    }
    return c.setName(name)
        .setType(Cluster.DiscoveryType.STATIC)
        .setConnectTimeout(Envoy.duration(CONNECT_TIMEOUT))
        .setLoadAssignment(
            Endpoints.assignment(
                name,
                List.of(
                    new io.qmesh.pilot.model.Endpoint(
                        "127.0.0.1", appPort, java.util.Map.of(), ""))))
        .build();
  }

  static Cluster inboundPassthrough() {
    return Cluster.newBuilder()
        .setName(INBOUND_PASSTHROUGH)
        .setType(Cluster.DiscoveryType.ORIGINAL_DST)
        .setConnectTimeout(Envoy.duration(CONNECT_TIMEOUT))
        .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
        .build();
  }
}
