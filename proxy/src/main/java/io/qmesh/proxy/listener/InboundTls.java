package io.qmesh.proxy.listener;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.OptionalSslHandler;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.security.MeshTls;
import io.qmesh.proxy.security.PeerAuthMode;
import java.nio.channels.ClosedChannelException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The mutual TLS of one inbound listener: each accepted connection is taken as the
 * PeerAuthentication of the workload port the listener serves says at that moment, and remembered
 * with that mode, so a change of policy can close the connections it no longer allows.
 */
final class InboundTls {

  private final MeshTls tls;
  private final int targetPort;
  private final Supplier<ProxyConfig> config;
  private final Map<Channel, PeerAuthMode> accepted = new ConcurrentHashMap<>();

  InboundTls(MeshTls tls, int targetPort, Supplier<ProxyConfig> config) {
    this.tls = tls;
    this.targetPort = targetPort;
    this.config = config;
  }

  /**
   * Puts the port's TLS at the front of a connection just accepted (see {@link FrontedServers}).
   */
  void front(Channel ch) {
    PeerAuthMode mode = config.get().peerAuthentication(targetPort);
    tls.accept(ch, mode);
    accepted.put(ch, mode);
    ch.closeFuture().addListener(f -> accepted.remove(ch));
  }

  /**
   * {@link #front}, and a mark behind the TLS that says when the connection is known to be mutual
   * TLS (the handshake done) or plaintext (PERMISSIVE's first bytes were not a ClientHello): a TCP
   * proxy waits for it before it picks the upstream and counts the connection with its peer's
   * identity. Under PERMISSIVE that means waiting for the client's first bytes, as Envoy's TLS
   * inspector does (Istio's caveat for server-first protocols).
   */
  void frontTcp(Channel ch) {
    front(ch);
    if (ch.pipeline().get(SslHandler.class) != null
        || ch.pipeline().get(OptionalSslHandler.class) != null) {
      Decided d = new Decided(ch.eventLoop().newPromise());
      ch.attr(DECIDED).set(d.promise);
      ch.pipeline().addLast("mtls-decided", d);
    }
  }

  private static final AttributeKey<Promise<Void>> DECIDED =
      AttributeKey.valueOf("qmesh.mtls-decided");

  /**
   * Completes once the connection's TLS is settled (see {@link #frontTcp}); at once for a
   * connection without TLS in front; failed when the handshake fails or the connection closes
   * first.
   */
  static Future<Void> decided(Channel ch) {
    Promise<Void> p = ch.attr(DECIDED).get();
    return p != null ? p : ch.eventLoop().newSucceededFuture(null);
  }

  /** The mark of {@link #frontTcp}: goes away once it has seen the handshake or plaintext. */
  private static final class Decided extends ChannelInboundHandlerAdapter {
    private final Promise<Void> promise;

    Decided(Promise<Void> promise) {
      this.promise = promise;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslHandshakeCompletionEvent e) {
        if (e.isSuccess()) {
          promise.trySuccess(null);
        } else {
          promise.tryFailure(e.cause());
        }
        ctx.pipeline().remove(this);
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      // Bytes before any handshake event: the connection is plaintext.
      promise.trySuccess(null);
      ctx.pipeline().remove(this);
      ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      promise.tryFailure(new ClosedChannelException());
      super.channelInactive(ctx);
    }
  }

  /**
   * Closes the connections accepted under another mode than the config's now, as Envoy drains the
   * connections of a filter chain that changed: a policy applies to the connections that carry
   * requests, not only to new ones.
   */
  void enforce() {
    if (accepted.isEmpty()) {
      return;
    }
    PeerAuthMode mode = config.get().peerAuthentication(targetPort);
    accepted.forEach(
        (ch, m) -> {
          if (m != mode) {
            ch.close();
          }
        });
  }
}
