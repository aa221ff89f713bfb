package io.qmesh.proxy.listener;

import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.ProxyStats;
import io.qmesh.proxy.cluster.UpstreamHost;
import io.qmesh.proxy.security.MeshTls;
import io.qmesh.proxy.telemetry.IstioMetrics;
import io.qmesh.proxy.telemetry.Peer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.impl.ContextInternal;
import io.vertx.core.impl.future.PromiseInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.impl.NetSocketInternal;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A TCP listener of the proxy (Envoy's tcp_proxy): each accepted connection goes to a host of one
 * cluster, read from the current config when the connection comes, and the bytes are piped both
 * ways with back-pressure until either side closes. A cluster that is unknown or has no host closes
 * the connection at once (Envoy's NC and UH), as does an unreachable host (UF); each is logged with
 * its flag.
 */
public final class TcpProxy {

  private static final Logger LOG = Logger.getLogger(TcpProxy.class.getName());

  /** The key of a TCP proxy's observers in {@link ProxyConfig#observers}: this plus its cluster. */
  public static final String TCP_OBSERVERS = "tcp|";

  private final Vertx vertx;
  private final Supplier<ProxyConfig> config;
  private final String cluster;
  private final NetClient client;
  private final ProxyStats stats;
  private volatile IstioMetrics metrics;
  private volatile InboundTls inbound;

  public TcpProxy(Vertx vertx, Supplier<ProxyConfig> config, String cluster) {
    this(vertx, config, cluster, ProxyStats.unregistered());
  }

  public TcpProxy(Vertx vertx, Supplier<ProxyConfig> config, String cluster, ProxyStats stats) {
    this.vertx = vertx;
    this.config = config;
    this.cluster = cluster;
    this.stats = stats;
    this.client = vertx.createNetClient();
  }

  /**
   * Reports Istio's TCP metrics for this listener's connections (as their destination: a sidecar's
   * inbound side). Call before {@link #listen}.
   */
  public TcpProxy reporting(IstioMetrics metrics) {
    this.metrics = metrics;
    return this;
  }

  /**
   * Takes each connection as the PeerAuthentication of workload port {@code targetPort} says:
   * mutual TLS terminated with the workload's certificate (STRICT), detected per connection
   * (PERMISSIVE) or not at all (DISABLE). Call before {@link #listen}.
   */
  public TcpProxy securing(MeshTls tls, int targetPort) {
    this.inbound = tls == null ? null : new InboundTls(tls, targetPort, config);
    return this;
  }

  /** Closes the connections a changed PeerAuthentication no longer allows (after a config swap). */
  public void enforcePeerAuthentication() {
    InboundTls in = inbound;
    if (in != null) {
      in.enforce();
    }
  }

  /** Listens on {@code host:port} (0 picks a free port). */
  public Future<NetServer> listen(String host, int port) {
    InboundTls in = inbound;
    NetServer server =
        in == null
            ? vertx.createNetServer()
            : FrontedServers.net(vertx, new NetServerOptions(), in::frontTcp);
    return server.connectHandler(this::handle).listen(port, host);
  }

  private void handle(NetSocket down) {
    if (inbound == null) {
      proxy(down);
      return;
    }
    // Under mutual TLS the upstream is picked, and the connection counted with its peer, once the
    // handshake is done (or the connection known to be plaintext).
    down.pause();
    PromiseInternal<Void> decided = ((ContextInternal) vertx.getOrCreateContext()).promise();
    InboundTls.decided(((NetSocketInternal) down).channelHandlerContext().channel())
        .addListener(decided);
    decided
        .future()
        .onComplete(
            ar -> {
              if (ar.succeeded()) {
                proxy(down);
              } else {
                down.close();
              }
            });
  }

  private void proxy(NetSocket down) {
    stats.tcpConnection();
    ProxyConfig cfg = config.get();
    var observers = cfg.observers().get(TCP_OBSERVERS + cluster);
    TcpLogEntry log =
        TcpLogEntry.of(observers == null ? null : observers.accessLogs(), cluster, down);
    ProxyConfig.ClusterRuntime c = cfg.clusters().get(cluster);
    if (c == null) {
      refuse(down, ResponseFlag.NC, log);
      return;
    }
    UpstreamHost host = c.balancer().choose(ThreadLocalRandom.current().nextLong());
    if (host == null) {
      refuse(down, ResponseFlag.UH, log);
      return;
    }
    down.pause();
    host.started();
    IstioMetrics m = metrics;
    int dropped = observers == null ? 0 : observers.droppedMetrics();
    client
        .connect(host.port(), host.address())
        .onSuccess(
            up -> {
              up.closeHandler(v -> host.finished());
              if (log != null) {
                log.upstream(host, up);
              }
              Pipes.relay(
                  down,
                  up,
                  m == null
                      ? null
                      : m.tcp(Peer.UNKNOWN, MeshTls.peerIdentity(down), null, "-", dropped),
                  log);
            })
        .onFailure(
            e -> {
              host.finished();
              IstioMetrics.TcpSeries series =
                  m == null
                      ? null
                      : m.tcp(
                          Peer.UNKNOWN,
                          MeshTls.peerIdentity(down),
                          null,
                          ResponseFlag.UF.name(),
                          dropped);
              if (series != null) {
                series.opened().increment();
                series.closed().increment();
              }
              if (log != null) {
                log.upstream(host, null);
              }
              refuse(down, ResponseFlag.UF, log);
            });
  }

  private void refuse(NetSocket down, ResponseFlag flag, TcpLogEntry log) {
    if (log != null) {
      log.done(flag);
    }
    LOG.log(
        Level.FINE,
        "{0} {1}: closing the connection from {2}",
        new Object[] {cluster, flag, down.remoteAddress()});
    down.close();
  }

  public Future<Void> close() {
    return client.close();
  }
}
