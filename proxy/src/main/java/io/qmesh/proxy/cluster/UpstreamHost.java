package io.qmesh.proxy.cluster;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One endpoint of a cluster, with the live state load balancing reads: requests in flight (for
 * least request) and outlier detection's (consecutive failures, ejection). Shared by every request
 * and kept across config updates while the endpoint stays; only counters change.
 */
public final class UpstreamHost {

  private final String address;
  private final int port;
  private final int weight;
  private final String hostPort;
  private final boolean meshTls;
  private final AtomicInteger active = new AtomicInteger();
  final AtomicInteger consecutive5xx = new AtomicInteger();
  final AtomicInteger consecutiveGateway = new AtomicInteger();

  /** {@code System.nanoTime()} when an ejection ends; 0 while in rotation. */
  volatile long ejectedUntil;

  /** Ejections so far (the multiplier of the ejection time) and when the last one ended. */
  int ejections;

  long returnedAt;

  public UpstreamHost(String address, int port, int weight) {
    this(address, port, weight, false);
  }

  /**
   * @param meshTls whether the endpoint is a mesh workload that takes Istio's mutual TLS (its
   *     metadata's {@code envoy.transport_socket_match} says {@code tlsMode: istio})
   */
  public UpstreamHost(String address, int port, int weight, boolean meshTls) {
    this.address = address;
    this.port = port;
    this.weight = Math.max(1, weight);
    this.hostPort = address + ":" + port;
    this.meshTls = meshTls;
  }

  /** Whether the endpoint takes Istio's mutual TLS (auto mTLS picks it for such hosts). */
  public boolean meshTls() {
    return meshTls;
  }

  /** What makes two configs' hosts the same host, whose live state carries over. */
  String key() {
    return hostPort + "/" + weight + (meshTls ? "/tls" : "");
  }

  /** {@code address:port}, as logs and stats print it. */
  public String hostPort() {
    return hostPort;
  }

  public String address() {
    return address;
  }

  public int port() {
    return port;
  }

  public int weight() {
    return weight;
  }

  /** Requests in flight to this host. */
  public int active() {
    return active.get();
  }

  /** Call when a request to this host starts; {@link #finished()} when it ends. */
  public void started() {
    active.incrementAndGet();
  }

  public void finished() {
    active.decrementAndGet();
  }

  /** Whether outlier detection has taken this host out of rotation. */
  public boolean ejected() {
    return ejectedUntil != 0;
  }

  @Override
  public String toString() {
    return address + ":" + port;
  }
}
