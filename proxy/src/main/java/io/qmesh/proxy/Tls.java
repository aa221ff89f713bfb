package io.qmesh.proxy;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.qmesh.proxy.security.Origination;
import io.qmesh.proxy.security.PeerAuthMode;
import io.qmesh.proxy.xds.TypedConfigs;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Reads Istio's mutual TLS out of the xDS resources: the clusters' transport sockets (a
 * DestinationRule's ISTIO_MUTUAL, or auto mTLS's {@code tlsMode-istio} match), the endpoints'
 * {@code tlsMode}, and the inbound filter chains PeerAuthentication gives each port (TLS, plaintext
 * or both). The workload's certificate is the SDS secret {@code default}, the mesh's roots {@code
 * ROOTCA}, as Istio names them. A transport socket with other certificates (a DestinationRule's
 * SIMPLE or MUTUAL, with files) is TLS origination ({@link Origination}).
 */
final class Tls {

  static final String TLS_SOCKET = "envoy.transport_sockets.tls";
  static final String MATCH_METADATA = "envoy.transport_socket_match";

  private Tls() {}

  /**
   * The cluster's TLS: Istio's mutual TLS (with the workload's certificate, SDS {@code default}),
   * TLS origination with the user's certificates (files), or null for plaintext.
   */
  static ProxyConfig.UpstreamTls upstream(
      Cluster c, io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions http) {
    if (c.hasTransportSocket() && isTls(c.getTransportSocket())) {
      UpstreamTlsContext context = context(c.getName(), c.getTransportSocket());
      if (!usesWorkloadCertificate(context.getCommonTlsContext())) {
        var options = http.getUpstreamHttpProtocolOptions();
        return ProxyConfig.UpstreamTls.originating(
            Origination.of(
                c.getName(), context, options.getAutoSni(), options.getAutoSanValidation()));
      }
      return new ProxyConfig.UpstreamTls(true, identities(c.getName(), context));
    }
    for (Cluster.TransportSocketMatch m : c.getTransportSocketMatchesList()) {
      var tlsMode = m.getMatch().getFieldsMap().get("tlsMode");
      if (tlsMode != null
          && "istio".equals(tlsMode.getStringValue())
          && isTls(m.getTransportSocket())) {
        return new ProxyConfig.UpstreamTls(
            false, identities(c.getName(), context(c.getName(), m.getTransportSocket())));
      }
    }
    return null;
  }

  private static boolean isTls(TransportSocket ts) {
    return ts.getName().equals(TLS_SOCKET)
        || TypedConfigs.is(ts.getTypedConfig(), UpstreamTlsContext.getDescriptor());
  }

  private static UpstreamTlsContext context(String cluster, TransportSocket ts) {
    try {
      return TypedConfigs.unpack(
          ts.getTypedConfig(), UpstreamTlsContext.getDescriptor(), UpstreamTlsContext.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(
          "cluster " + cluster + ": the TLS transport socket does not decode: " + e.getMessage());
    }
  }

  /** Istio's mutual TLS: the workload's certificate (SDS {@code default}) and no files. */
  private static boolean usesWorkloadCertificate(CommonTlsContext common) {
    return common.getTlsCertificateSdsSecretConfigsCount() == 1
        && common.getTlsCertificateSdsSecretConfigs(0).getName().equals("default")
        && common.getTlsCertificatesCount() == 0;
  }

  private static Set<String> identities(String cluster, UpstreamTlsContext context) {
    CommonTlsContext common = context.getCommonTlsContext();
    if (!usesWorkloadCertificate(common)) {
      throw new IllegalArgumentException(
          "cluster "
              + cluster
              + ": auto mTLS's transport socket must use the workload's certificate (SDS secret"
              + " 'default')");
    }
    Set<String> out = new LinkedHashSet<>();
    var validation = common.getCombinedValidationContext().getDefaultValidationContext();
    for (StringMatcher m : validation.getMatchSubjectAltNamesList()) {
      out.add(m.getExact());
    }
    for (var m : validation.getMatchTypedSubjectAltNamesList()) {
      out.add(m.getMatcher().getExact());
    }
    out.remove("");
    return Set.copyOf(out);
  }

  /** Whether an endpoint is a mesh workload ({@code tlsMode: istio} in its metadata). */
  static boolean meshTls(LbEndpoint e) {
    var md = e.getMetadata().getFilterMetadataMap().get(MATCH_METADATA);
    if (md == null) {
      return false;
    }
    var mode = md.getFieldsMap().get("tlsMode");
    return mode != null && "istio".equals(mode.getStringValue());
  }

  /** Each inbound target port's mode: a TLS chain and a plaintext chain, or one of them. */
  static Map<Integer, PeerAuthMode> peerAuthentication(Listener virtualInbound) {
    if (virtualInbound == null) {
      return Map.of();
    }
    Map<Integer, boolean[]> seen = new HashMap<>();
    for (FilterChain fc : virtualInbound.getFilterChainsList()) {
      if (!fc.getFilterChainMatch().hasDestinationPort()) {
        continue;
      }
      int port = fc.getFilterChainMatch().getDestinationPort().getValue();
      boolean[] kinds = seen.computeIfAbsent(port, p -> new boolean[2]);
      boolean tls = fc.hasTransportSocket() && fc.getTransportSocket().getName().equals(TLS_SOCKET);
      kinds[tls ? 0 : 1] = true;
    }
    Map<Integer, PeerAuthMode> out = new HashMap<>();
    seen.forEach(
        (port, kinds) ->
            out.put(
                port,
                kinds[0] && kinds[1]
                    ? PeerAuthMode.PERMISSIVE
                    : kinds[0] ? PeerAuthMode.STRICT : PeerAuthMode.DISABLE));
    return Map.copyOf(out);
  }
}
