package io.qmesh.proxy.listener;

import io.qmesh.proxy.cluster.UpstreamHost;
import io.qmesh.proxy.telemetry.AccessLog;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.util.List;

/**
 * One proxied TCP connection as an access log entry, as Envoy's tcp_proxy logs it: no request, so
 * the HTTP operators are {@code -} and the response code 0; the bytes received from and sent to the
 * client, the duration, the upstream host and cluster, the addresses and the flags.
 */
final class TcpLogEntry implements AccessLog.Entry {

  private final List<AccessLog> logs;
  private final String cluster;
  private final NetSocket down;
  private final long startMillis = System.currentTimeMillis();
  private final long start = System.nanoTime();
  private String flags = "-";
  private UpstreamHost host;
  private NetSocket up;
  long received;
  long sent;

  TcpLogEntry(List<AccessLog> logs, String cluster, NetSocket down) {
    this.logs = logs;
    this.cluster = cluster;
    this.down = down;
  }

  /** The connection's entry when the listener logs, else null. */
  static TcpLogEntry of(List<AccessLog> logs, String cluster, NetSocket down) {
    return logs == null || logs.isEmpty() ? null : new TcpLogEntry(logs, cluster, down);
  }

  void upstream(UpstreamHost host, NetSocket up) {
    this.host = host;
    this.up = up;
  }

  /** The connection ended with {@code flag} (null: normally): writes its line. */
  void done(ResponseFlag flag) {
    if (flag != null) {
      flags = flag.name();
    }
    for (AccessLog log : logs) {
      log.log(this);
    }
  }

  @Override
  public long startMillis() {
    return startMillis;
  }

  @Override
  public String requestHeader(CharSequence lowerCaseName) {
    return null;
  }

  @Override
  public String responseHeader(CharSequence lowerCaseName) {
    return null;
  }

  @Override
  public String protocol() {
    return null;
  }

  @Override
  public int status() {
    return 0;
  }

  @Override
  public String flags() {
    return flags;
  }

  @Override
  public String details() {
    return null;
  }

  @Override
  public long bytesReceived() {
    return received;
  }

  @Override
  public long bytesSent() {
    return sent;
  }

  @Override
  public long durationMillis() {
    return (System.nanoTime() - start) / 1_000_000;
  }

  @Override
  public String upstreamHost() {
    return host == null ? null : host.hostPort();
  }

  @Override
  public String upstreamCluster() {
    return cluster;
  }

  @Override
  public SocketAddress upstreamLocalAddress() {
    return up == null ? null : up.localAddress();
  }

  @Override
  public SocketAddress downstreamLocalAddress() {
    return down.localAddress();
  }

  @Override
  public SocketAddress downstreamRemoteAddress() {
    return down.remoteAddress();
  }

  @Override
  public String routeName() {
    return null;
  }
}
