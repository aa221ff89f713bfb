package io.qmesh.proxy.listener;

import io.netty.channel.Channel;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.HttpServerImpl;
import io.vertx.core.impl.ContextInternal;
import io.vertx.core.impl.VertxInternal;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.impl.NetServerImpl;
import io.vertx.core.net.impl.SslChannelProvider;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Vert.x servers whose accepted connections pass through a hook before Vert.x sets up their
 * pipeline: the inbound listeners put mutual TLS at the front there, decided per connection (so one
 * port takes TLS and plaintext alike, as Envoy's TLS inspector lets Istio's PERMISSIVE mode).
 * Vert.x then sees plaintext HTTP/1.1, HTTP/2 or bytes, and finds the TLS session on the
 * connection.
 */
final class FrontedServers {

  private FrontedServers() {}

  static HttpServer http(Vertx vertx, HttpServerOptions options, Consumer<Channel> front) {
    return new HttpServerImpl((VertxInternal) vertx, options) {
      @Override
      protected BiConsumer<Channel, SslChannelProvider> childHandler(
          ContextInternal context,
          SocketAddress address,
          io.netty.handler.traffic.GlobalTrafficShapingHandler shaping) {
        return fronted(super.childHandler(context, address, shaping), front);
      }
    };
  }

  static NetServer net(Vertx vertx, NetServerOptions options, Consumer<Channel> front) {
    return new NetServerImpl((VertxInternal) vertx, options) {
      @Override
      protected BiConsumer<Channel, SslChannelProvider> childHandler(
          ContextInternal context,
          SocketAddress address,
          io.netty.handler.traffic.GlobalTrafficShapingHandler shaping) {
        return fronted(super.childHandler(context, address, shaping), front);
      }
    };
  }

  private static BiConsumer<Channel, SslChannelProvider> fronted(
      BiConsumer<Channel, SslChannelProvider> vertxHandler, Consumer<Channel> front) {
    return (ch, ssl) -> {
      front.accept(ch);
      vertxHandler.accept(ch, ssl);
    };
  }
}
