package io.qmesh.proxy.cluster;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One endpoint of a cluster, with the live state load balancing reads: requests in flight (for
 * least request). Shared by every request; only counters change.
 */
public final class UpstreamHost {

  private final String address;
  private final int port;
  private final int weight;
  private final AtomicInteger active = new AtomicInteger();

  public UpstreamHost(String address, int port, int weight) {
    this.address = address;
    this.port = port;
    this.weight = Math.max(1, weight);
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

  @Override
  public String toString() {
    return address + ":" + port;
  }
}
