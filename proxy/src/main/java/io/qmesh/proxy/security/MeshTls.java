package io.qmesh.proxy.security;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OptionalSslHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.KeyManagerFactoryWrapper;
import io.netty.handler.ssl.util.TrustManagerFactoryWrapper;
import io.netty.util.Attribute;
import io.netty.util.AttributeKey;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.ClientOptionsBase;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.TrustOptions;
import io.vertx.core.net.impl.ConnectionBase;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Istio's mutual TLS with the workload's certificate: the server side of inbound ports (a TLS
 * handler at the front of each accepted connection, by the port's {@link PeerAuthMode}) and the
 * client options of upstream connections to mesh workloads (the peer's identity checked against the
 * cluster's).
 */
public final class MeshTls {

  private final WorkloadCertificates certificates;
  private final SslContext server;

  public MeshTls(WorkloadCertificates certificates) {
    this.certificates = certificates;
    try {
      this.server =
          SslContextBuilder.forServer(new KeyManagerFactoryWrapper(certificates.keyManager()))
              .sslProvider(SslProvider.JDK)
              .trustManager(
                  new TrustManagerFactoryWrapper(
                      new MeshTrustManager(certificates.roots(), Set.of())))
              .clientAuth(ClientAuth.REQUIRE)
              .applicationProtocolConfig(
                  new ApplicationProtocolConfig(
                      ApplicationProtocolConfig.Protocol.ALPN,
                      ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                      ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                      ApplicationProtocolNames.HTTP_2,
                      ApplicationProtocolNames.HTTP_1_1))
              .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up mutual TLS: " + e.getMessage(), e);
    }
  }

  public WorkloadCertificates certificates() {
    return certificates;
  }

  /**
   * Puts the port's TLS at the front of a new connection's pipeline: STRICT a TLS handler (or,
   * before the first certificate, a handler that closes the connection), PERMISSIVE one that
   * becomes the TLS handler when the first bytes are a ClientHello and goes away otherwise, DISABLE
   * nothing.
   */
  public void accept(Channel ch, PeerAuthMode mode) {
    if (mode == PeerAuthMode.DISABLE) {
      return;
    }
    if (certificates.current() == null) {
      if (mode == PeerAuthMode.STRICT) {
        ch.pipeline().addFirst("mtls-not-ready", new Refuse());
      }
      return;
    }
    if (mode == PeerAuthMode.STRICT) {
      ch.pipeline().addFirst("ssl", server.newHandler(ch.alloc()));
    } else {
      ch.pipeline().addFirst("mtls-detect", new OptionalSslHandler(server));
    }
  }

  /** Closes a connection that must be mutual TLS while there is no certificate to offer. */
  private static final class Refuse extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.close();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (ctx.channel().isActive()) {
        ctx.close();
      }
    }
  }

  /**
   * Client options for mutual TLS to mesh workloads whose identity is one of {@code identities}
   * (any mesh identity when empty): the workload's certificate, the mesh's roots, ALPN (the
   * versions {@code base} lists, else its protocol's).
   */
  public HttpClientOptions client(HttpClientOptions base, Set<String> identities) {
    secure(base, identities);
    base.setVerifyHost(false).setUseAlpn(true);
    if (base.getAlpnVersions() != null && !base.getAlpnVersions().isEmpty()) {
      return base;
    }
    if (base.getProtocolVersion() == HttpVersion.HTTP_2) {
      base.setAlpnVersions(List.of(HttpVersion.HTTP_2));
    } else {
      base.setAlpnVersions(List.of(HttpVersion.HTTP_1_1));
    }
    return base;
  }

  /** {@link #client(HttpClientOptions, Set)} for TCP connections (no ALPN). */
  public NetClientOptions client(NetClientOptions base, Set<String> identities) {
    secure(base, identities);
    base.setHostnameVerificationAlgorithm("");
    return base;
  }

  private void secure(ClientOptionsBase o, Set<String> identities) {
    o.setSsl(true)
        .setKeyCertOptions(KeyCertOptions.wrap(certificates.keyManager()))
        .setTrustOptions(TrustOptions.wrap(new MeshTrustManager(certificates.roots(), identities)));
  }

  /**
   * The peer's SPIFFE id on a mutual TLS connection ({@code spiffe://cluster.local/ns/x/sa/y}), or
   * null for plaintext.
   */
  public static String peerIdentity(SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      var certs = session.getPeerCertificates();
      return certs.length > 0 && certs[0] instanceof X509Certificate x
          ? MeshTrustManager.spiffeId(x)
          : null;
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }

  private static final String PEER_IDENTITY = "qmesh.peer-identity";

  /**
   * The peer's SPIFFE id on a connection, null when it is plaintext (or the peer has none): read
   * from its certificate once per TLS session and kept on the session, so each request on the
   * connection finds it at the cost of a lookup.
   */
  public static String peerIdentity(io.vertx.core.http.HttpConnection connection) {
    return connection == null || !isTls(connection) ? null : cached(connection.sslSession());
  }

  private static final AttributeKey<Boolean> TLS = AttributeKey.valueOf("qmesh.tls");

  /**
   * Whether a connection runs TLS, found in its pipeline once and kept on its channel: Vert.x's
   * {@code isSsl()} searches the pipeline by class on every call, which a plaintext connection pays
   * in full once per request. A connection's requests all come after TLS was settled on it (the
   * inbound front decides on the first bytes).
   */
  private static boolean isTls(io.vertx.core.http.HttpConnection connection) {
    if (!(connection instanceof ConnectionBase base)) {
      return connection.isSsl();
    }
    Attribute<Boolean> tls = base.channel().attr(TLS);
    Boolean known = tls.get();
    if (known == null) {
      known = connection.isSsl();
      tls.set(known);
    }
    return known;
  }

  /** {@link #peerIdentity(io.vertx.core.http.HttpConnection)} of a TCP connection. */
  public static String peerIdentity(io.vertx.core.net.NetSocket socket) {
    return socket == null || !socket.isSsl() ? null : cached(socket.sslSession());
  }

  private static String cached(SSLSession session) {
    if (session == null) {
      return null;
    }
    Object known = session.getValue(PEER_IDENTITY);
    if (known == null) {
      String id = peerIdentity(session);
      if (id == null) {
        // Before the handshake is done the session is a placeholder: keep nothing on it.
        return null;
      }
      known = id;
      session.putValue(PEER_IDENTITY, known);
    }
    return (String) known;
  }
}
