package io.qmesh.pilot.translate;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions;
import io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.fabric8.istio.api.api.networking.v1alpha3.ClientTLSSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.ClientTLSSettingsTLSmode;
import io.fabric8.istio.api.api.security.v1beta1.PeerAuthentication;
import io.fabric8.istio.api.api.security.v1beta1.PeerAuthenticationMutualTLS;
import io.fabric8.istio.api.api.security.v1beta1.PeerAuthenticationMutualTLSMode;
import io.qmesh.api.MeshNames;
import io.qmesh.pilot.model.Endpoint;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.Named;
import io.qmesh.pilot.model.ProxyNode;
import java.util.List;
import java.util.TreeSet;

/**
 * Istio's mutual TLS in Envoy's terms: PeerAuthentication resolved for a workload's port (workload
 * scope, then namespace, then the root namespace; PERMISSIVE when none says), the inbound TLS
 * context, and the outbound clusters' TLS (auto mTLS's transport socket matches on the endpoints'
 * {@code tlsMode}, or a DestinationRule's ISTIO_MUTUAL or DISABLE; its SIMPLE or MUTUAL originate
 * TLS with the user's certificate files). Certificates are Istio's SDS secrets {@code default} (the
 * workload's) and {@code ROOTCA} (the mesh's roots).
 */
final class Security {

  static final String TLS = "envoy.transport_sockets.tls";
  static final String TLS_MODE_ISTIO = "tlsMode-istio";
  static final String TLS_MODE_DISABLED = "tlsMode-disabled";
  static final String MATCH_METADATA = "envoy.transport_socket_match";

  /** What an inbound port accepts. */
  enum Mode {
    STRICT,
    PERMISSIVE,
    DISABLE
  }

  private Security() {}

  /**
   * The mode for {@code proxy}'s {@code targetPort}: the oldest workload-scoped policy selecting
   * the workload in its namespace (its port-level setting first), else the namespace-wide policy,
   * else the mesh-wide one in the root namespace; UNSET inherits from the next scope up.
   */
  static Mode mode(MeshSnapshot mesh, ProxyNode proxy, int targetPort) {
    return mode(mesh, proxy.namespace(), proxy.labels(), targetPort);
  }

  /** {@link #mode(MeshSnapshot, ProxyNode, int)} for a workload by namespace and labels. */
  static Mode mode(
      MeshSnapshot mesh,
      String workloadNamespace,
      java.util.Map<String, String> labels,
      int targetPort) {
    PeerAuthenticationMutualTLSMode workload = null;
    PeerAuthenticationMutualTLSMode namespace = null;
    PeerAuthenticationMutualTLSMode root = null;
    for (Named<PeerAuthentication> pa : mesh.peerAuthentications()) {
      PeerAuthentication spec = pa.spec();
      boolean selects =
          spec.getSelector() != null
              && spec.getSelector().getMatchLabels() != null
              && !spec.getSelector().getMatchLabels().isEmpty();
      if (pa.namespace().equals(workloadNamespace) && selects) {
        if (workload == null
            && labels.entrySet().containsAll(spec.getSelector().getMatchLabels().entrySet())) {
          PeerAuthenticationMutualTLS port =
              spec.getPortLevelMtls() == null
                  ? null
                  : spec.getPortLevelMtls().get(String.valueOf(targetPort));
          workload = set(port) != null ? set(port) : set(spec.getMtls());
          if (workload == null) {
            workload = PeerAuthenticationMutualTLSMode.UNSET;
          }
        }
      } else if (!selects) {
        if (namespace == null && pa.namespace().equals(workloadNamespace)) {
          namespace = orUnset(set(spec.getMtls()));
        }
        if (root == null && pa.namespace().equals(MeshNames.ROOT_NAMESPACE)) {
          root = orUnset(set(spec.getMtls()));
        }
      }
    }
    for (PeerAuthenticationMutualTLSMode m :
        new PeerAuthenticationMutualTLSMode[] {workload, namespace, root}) {
      if (m != null && m != PeerAuthenticationMutualTLSMode.UNSET) {
        return Mode.valueOf(m.name());
      }
    }
    return Mode.PERMISSIVE;
  }

  private static PeerAuthenticationMutualTLSMode set(PeerAuthenticationMutualTLS m) {
    return m == null || m.getMode() == null || m.getMode() == PeerAuthenticationMutualTLSMode.UNSET
        ? null
        : m.getMode();
  }

  private static PeerAuthenticationMutualTLSMode orUnset(PeerAuthenticationMutualTLSMode m) {
    return m == null ? PeerAuthenticationMutualTLSMode.UNSET : m;
  }

  /**
   * The endpoints as auto mTLS sees them: a mesh workload whose PeerAuthentication disables mutual
   * TLS on the port is sent plaintext.
   */
  static List<Endpoint> autoMtls(MeshSnapshot mesh, List<Endpoint> endpoints) {
    if (mesh.peerAuthentications().isEmpty()) {
      return endpoints;
    }
    return endpoints.stream()
        .map(
            e ->
                e.meshTls()
                        && e.namespace() != null
                        && mode(mesh, e.namespace(), e.labels(), e.port()) == Mode.DISABLE
                    ? e.withoutMeshTls()
                    : e)
        .toList();
  }

  /** Istio's SDS source: the agent's socket, as its bootstrap names the cluster. */
  private static SdsSecretConfig sds(String name) {
    return SdsSecretConfig.newBuilder()
        .setName(name)
        .setSdsConfig(
            ConfigSource.newBuilder()
                .setResourceApiVersion(ApiVersion.V3)
                .setInitialFetchTimeout(Envoy.duration(java.time.Duration.ZERO))
                .setApiConfigSource(
                    ApiConfigSource.newBuilder()
                        .setApiType(ApiConfigSource.ApiType.GRPC)
                        .setTransportApiVersion(ApiVersion.V3)
                        .setSetNodeOnFirstMessageOnly(true)
                        .addGrpcServices(
                            GrpcService.newBuilder()
                                .setEnvoyGrpc(
                                    GrpcService.EnvoyGrpc.newBuilder()
                                        .setClusterName("sds-grpc")))))
        .build();
  }

  private static CommonTlsContext.Builder common(List<String> alpn, List<String> sans) {
    CertificateValidationContext.Builder validation = CertificateValidationContext.newBuilder();
    sans.forEach(s -> validation.addMatchSubjectAltNames(StringMatcher.newBuilder().setExact(s)));
    return CommonTlsContext.newBuilder()
        .addTlsCertificateSdsSecretConfigs(sds("default"))
        .setCombinedValidationContext(
            CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                .setDefaultValidationContext(validation)
                .setValidationContextSdsSecretConfig(sds("ROOTCA")))
        .addAllAlpnProtocols(alpn);
  }

  /** The inbound side: the workload's certificate, a client certificate required. */
  static TransportSocket downstream() {
    return TransportSocket.newBuilder()
        .setName(TLS)
        .setTypedConfig(
            Any.pack(
                DownstreamTlsContext.newBuilder()
                    .setRequireClientCertificate(BoolValue.of(true))
                    .setCommonTlsContext(common(List.of("h2", "http/1.1"), List.of()))
                    .build()))
        .build();
  }

  private static TransportSocket upstream(String cluster, List<String> sans) {
    return TransportSocket.newBuilder()
        .setName(TLS)
        .setTypedConfig(
            Any.pack(
                UpstreamTlsContext.newBuilder()
                    .setCommonTlsContext(common(List.of("istio-peer-exchange", "istio"), sans))
                    .setSni(sni(cluster))
                    .build()))
        .build();
  }

  /** Istio's SNI for a cluster: {@code outbound_.9080_.v1_.reviews.default.svc.cluster.local}. */
  static String sni(String cluster) {
    return cluster.replace("|", "_.");
  }

  /**
   * The TLS of an outbound cluster: a DestinationRule's ISTIO_MUTUAL (always), DISABLE (never),
   * else auto mTLS (to the endpoints that are mesh workloads). The server must be one of the
   * service's workloads' identities. SIMPLE and MUTUAL originate TLS with the user's certificates
   * ({@link #originate}).
   */
  static void outbound(Cluster.Builder c, Policy policy, List<Endpoint> endpoints) {
    ClientTLSSettings tls = policy.tls();
    ClientTLSSettingsTLSmode mode = tls == null ? null : tls.getMode();
    if (mode == ClientTLSSettingsTLSmode.SIMPLE || mode == ClientTLSSettingsTLSmode.MUTUAL) {
      originate(c, tls);
      return;
    }
    if (mode == ClientTLSSettingsTLSmode.DISABLE
        || (mode != ClientTLSSettingsTLSmode.ISTIO_MUTUAL
            && endpoints.stream().noneMatch(Endpoint::meshTls))) {
      // Nothing to secure: auto mTLS applies only when some endpoint is a mesh workload.
      return;
    }
    TreeSet<String> sans = new TreeSet<>();
    if (tls != null && tls.getSubjectAltNames() != null) {
      sans.addAll(tls.getSubjectAltNames());
    }
    for (Endpoint e : endpoints) {
      if (e.identity() != null && (e.meshTls() || mode == ClientTLSSettingsTLSmode.ISTIO_MUTUAL)) {
        sans.add(e.identity());
      }
    }
    TransportSocket socket = upstream(c.getName(), List.copyOf(sans));
    if (mode == ClientTLSSettingsTLSmode.ISTIO_MUTUAL) {
      c.setTransportSocket(socket);
      return;
    }
    c.addTransportSocketMatches(
            Cluster.TransportSocketMatch.newBuilder()
                .setName(TLS_MODE_ISTIO)
                .setMatch(
                    Struct.newBuilder()
                        .putFields("tlsMode", Value.newBuilder().setStringValue("istio").build()))
                .setTransportSocket(socket))
        .addTransportSocketMatches(
            Cluster.TransportSocketMatch.newBuilder()
                .setName(TLS_MODE_DISABLED)
                .setMatch(Struct.getDefaultInstance())
                .setTransportSocket(
                    TransportSocket.newBuilder()
                        .setName("envoy.transport_sockets.raw_buffer")
                        .setTypedConfig(Any.pack(RawBuffer.getDefaultInstance()))));
  }

  /**
   * A DestinationRule's SIMPLE or MUTUAL, as Istio writes it: the client certificate and key files
   * (MUTUAL), the server checked against {@code caCertificates}, or the system's roots when none is
   * given (Istio's {@code VERIFY_CERTIFICATE_AT_CLIENT}), or not at all with {@code
   * insecureSkipVerify}; its certificate must carry one of {@code subjectAltNames}. Without an
   * {@code sni}, SNI is the request's host and, with nothing else to check the server's name
   * against, its certificate must be for that host (Istio's {@code ENABLE_AUTO_SNI}: Envoy's {@code
   * auto_sni} and {@code auto_san_validation} on the cluster's HTTP options).
   */
  private static void originate(Cluster.Builder c, ClientTLSSettings tls) {
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
    if (tls.getMode() == ClientTLSSettingsTLSmode.MUTUAL
        && notBlank(tls.getClientCertificate())
        && notBlank(tls.getPrivateKey())) {
      common.addTlsCertificates(
          TlsCertificate.newBuilder()
              .setCertificateChain(DataSource.newBuilder().setFilename(tls.getClientCertificate()))
              .setPrivateKey(DataSource.newBuilder().setFilename(tls.getPrivateKey())));
    }
    boolean verify = !Boolean.TRUE.equals(tls.getInsecureSkipVerify());
    List<String> sans = tls.getSubjectAltNames() == null ? List.of() : tls.getSubjectAltNames();
    if (verify) {
      CertificateValidationContext.Builder v = CertificateValidationContext.newBuilder();
      if (notBlank(tls.getCaCertificates())) {
        v.setTrustedCa(DataSource.newBuilder().setFilename(tls.getCaCertificates()));
      } else {
        v.setSystemRootCerts(CertificateValidationContext.SystemRootCerts.getDefaultInstance());
      }
      sans.forEach(s -> v.addMatchSubjectAltNames(StringMatcher.newBuilder().setExact(s)));
      common.setValidationContext(v);
    }
    UpstreamTlsContext.Builder context =
        UpstreamTlsContext.newBuilder().setCommonTlsContext(common);
    if (notBlank(tls.getSni())) {
      context.setSni(tls.getSni());
    }
    c.setTransportSocket(
        TransportSocket.newBuilder().setName(TLS).setTypedConfig(Any.pack(context.build())));
    if (!notBlank(tls.getSni())) {
      // Also on a cluster without HTTP options (an HTTPS or TCP port): a route from an HTTP port
      // may lead to it, as in Istio's egress TLS origination.
      var http = c.getTypedExtensionProtocolOptionsMap().get(Clusters.HTTP_OPTIONS);
      try {
        var options =
            http == null
                ? io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.newBuilder()
                : http
                    .unpack(
                        io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.class)
                    .toBuilder();
        options.setUpstreamHttpProtocolOptions(
            UpstreamHttpProtocolOptions.newBuilder()
                .setAutoSni(true)
                .setAutoSanValidation(verify && sans.isEmpty()));
        c.putTypedExtensionProtocolOptions(Clusters.HTTP_OPTIONS, Any.pack(options.build()));
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw new IllegalStateException("our own HTTP options do not decode", e);
      }
    }
  }

  private static boolean notBlank(String s) {
    return s != null && !s.isBlank();
  }

  /** The metadata auto mTLS matches on, for an endpoint that is a mesh workload. */
  static final Metadata MESH_ENDPOINT =
      Metadata.newBuilder()
          .putFilterMetadata(
              MATCH_METADATA,
              Struct.newBuilder()
                  .putFields("tlsMode", Value.newBuilder().setStringValue("istio").build())
                  .build())
          .build();
}
