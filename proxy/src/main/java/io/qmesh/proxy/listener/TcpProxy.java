package io.qmesh.proxy.listener;

import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.ProxyStats;
import io.qmesh.proxy.cluster.UpstreamHost;
import io.qmesh.proxy.telemetry.IstioMetrics;
import io.qmesh.proxy.telemetry.Peer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
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

  /** Listens on {@code host:port} (0 picks a free port). */
  public Future<NetServer> listen(String host, int port) {
    return vertx.createNetServer().connectHandler(this::handle).listen(port, host);
  }

  private void handle(NetSocket down) {
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
    client
        .connect(host.port(), host.address())
        .onSuccess(
            up -> {
              up.closeHandler(v -> host.finished());
              if (log != null) {
                log.upstream(host, up);
              }
              Pipes.relay(down, up, m == null ? null : m.tcp(Peer.UNKNOWN, null, "-"), log);
            })
        .onFailure(
            e -> {
              host.finished();
              if (m != null) {
                IstioMetrics.TcpSeries series = m.tcp(Peer.UNKNOWN, null, ResponseFlag.UF.name());
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
