package io.qmesh.proxy.cluster;

import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A cluster's live side: its hosts, the balancer over the hosts in rotation, outlier detection
 * (Envoy's consecutive 5xx and consecutive gateway failure detectors: a host is ejected for the
 * base ejection time times its ejection count, within the maximum ejection percentage) and the
 * circuit breakers (requests, pending requests, retries in flight; overflow is refused at once).
 *
 * <p>A config update builds a new one from the previous: hosts that stay keep their state
 * (ejections, requests in flight) and the counters carry over, so a push neither returns an ejected
 * host nor resets the breakers. Ejections are rare, so they take a lock and rebuild the balancer;
 * the request path reads one volatile field.
 */
public final class UpstreamCluster {

  /** Envoy's default for every circuit breaker threshold. */
  static final int ENVOY_DEFAULT_LIMIT = 1024;

  /** Envoy's default healthy panic threshold, in percent. */
  static final double ENVOY_DEFAULT_PANIC = 50;

  /** The circuit breaker thresholds of the default priority. */
  public record Limits(long maxConnections, long maxPending, long maxRequests, long maxRetries) {

    static Limits of(Cluster c) {
      CircuitBreakers.Thresholds t =
          c.getCircuitBreakers().getThresholdsList().stream()
              .filter(x -> x.getPriority().getNumber() == 0)
              .findFirst()
              .orElse(CircuitBreakers.Thresholds.getDefaultInstance());
      return new Limits(
          t.hasMaxConnections()
              ? t.getMaxConnections().getValue() & 0xffffffffL
              : ENVOY_DEFAULT_LIMIT,
          t.hasMaxPendingRequests()
              ? t.getMaxPendingRequests().getValue() & 0xffffffffL
              : ENVOY_DEFAULT_LIMIT,
          t.hasMaxRequests() ? t.getMaxRequests().getValue() & 0xffffffffL : ENVOY_DEFAULT_LIMIT,
          t.hasMaxRetries() ? t.getMaxRetries().getValue() & 0xffffffffL : ENVOY_DEFAULT_LIMIT);
    }
  }

  /** Outlier detection's settings; thresholds of 0 turn a detector off. */
  public record Outliers(
      int consecutive5xx,
      int consecutiveGateway,
      long intervalNanos,
      long baseEjectionNanos,
      long maxEjectionNanos,
      int maxEjectionPercent) {

    static Outliers of(Cluster c) {
      if (!c.hasOutlierDetection()) {
        return null;
      }
      var o = c.getOutlierDetection();
      int fiveXx =
          (o.hasEnforcingConsecutive5Xx() ? o.getEnforcingConsecutive5Xx().getValue() : 100) == 0
              ? 0
              : (o.hasConsecutive5Xx() ? o.getConsecutive5Xx().getValue() : 5);
      int gateway =
          (o.hasEnforcingConsecutiveGatewayFailure()
                      ? o.getEnforcingConsecutiveGatewayFailure().getValue()
                      : 0)
                  == 0
              ? 0
              : (o.hasConsecutiveGatewayFailure()
                  ? o.getConsecutiveGatewayFailure().getValue()
                  : 5);
      long base = o.hasBaseEjectionTime() ? nanos(o.getBaseEjectionTime()) : 30_000_000_000L;
      return new Outliers(
          fiveXx,
          gateway,
          o.hasInterval() ? nanos(o.getInterval()) : 10_000_000_000L,
          base,
          Math.max(base, o.hasMaxEjectionTime() ? nanos(o.getMaxEjectionTime()) : 300_000_000_000L),
          o.hasMaxEjectionPercent() ? o.getMaxEjectionPercent().getValue() : 10);
    }

    private static long nanos(com.google.protobuf.Duration d) {
      return d.getSeconds() * 1_000_000_000L + d.getNanos();
    }
  }

  /** What outlives a config update besides the hosts: the circuit breakers' counts. */
  private static final class Counters {
    final AtomicInteger requests = new AtomicInteger();
    final AtomicInteger retries = new AtomicInteger();
  }

  private final String name;
  private final Cluster cluster;
  private final List<UpstreamHost> hosts;
  private final Limits limits;
  private final Outliers outliers;
  private final double panicPercent;
  private final Counters counters;
  private volatile LoadBalancer balancer;

  /** When the earliest ejection ends ({@code System.nanoTime()}), or {@code Long.MAX_VALUE}. */
  private volatile long nextReturn = Long.MAX_VALUE;

  private UpstreamCluster(Cluster cluster, List<UpstreamHost> hosts, Counters counters) {
    this.name = cluster.getName();
    this.cluster = cluster;
    this.hosts = List.copyOf(hosts);
    this.limits = Limits.of(cluster);
    this.outliers = Outliers.of(cluster);
    this.panicPercent =
        cluster.getCommonLbConfig().hasHealthyPanicThreshold()
            ? cluster.getCommonLbConfig().getHealthyPanicThreshold().getValue()
            : ENVOY_DEFAULT_PANIC;
    this.counters = counters;
    rebuild(System.nanoTime());
  }

  /**
   * The cluster over {@code hosts}, taking over from {@code previous} (null for a new cluster) the
   * state of the hosts that stay (same address, port and weight) and the breakers' counts.
   */
  public static UpstreamCluster of(
      Cluster cluster, List<UpstreamHost> hosts, UpstreamCluster previous) {
    if (previous == null) {
      return new UpstreamCluster(cluster, hosts, new Counters());
    }
    Map<String, UpstreamHost> old = new HashMap<>();
    for (UpstreamHost h : previous.hosts) {
      old.put(h.key(), h);
    }
    List<UpstreamHost> kept = new ArrayList<>(hosts.size());
    for (UpstreamHost h : hosts) {
      kept.add(old.getOrDefault(h.key(), h));
    }
    return new UpstreamCluster(cluster, kept, previous.counters);
  }

  public String name() {
    return name;
  }

  public List<UpstreamHost> hosts() {
    return hosts;
  }

  public Limits limits() {
    return limits;
  }

  /** The balancer over the hosts in rotation (over all of them in panic mode). */
  public LoadBalancer balancer() {
    if (nextReturn != Long.MAX_VALUE) {
      long now = System.nanoTime();
      if (now - nextReturn >= 0) {
        rebuild(now);
      }
    }
    return balancer;
  }

  /** Chooses a host for a request with this hash; null when there is none to send to. */
  public UpstreamHost choose(long hash) {
    return balancer().choose(hash);
  }

  /**
   * Returns hosts whose ejection has ended and rebuilds the balancer over the hosts in rotation; in
   * panic (fewer healthy than the threshold) over all hosts, as Envoy does.
   */
  private synchronized void rebuild(long now) {
    List<UpstreamHost> healthy = new ArrayList<>(hosts.size());
    long next = Long.MAX_VALUE;
    for (UpstreamHost h : hosts) {
      long until = h.ejectedUntil;
      if (until != 0 && now - until >= 0) {
        h.ejectedUntil = 0;
        h.returnedAt = now;
        until = 0;
      }
      if (until == 0) {
        healthy.add(h);
      } else if (until - next < 0 || next == Long.MAX_VALUE) {
        next = until;
      }
    }
    boolean panic = !hosts.isEmpty() && 100.0 * healthy.size() / hosts.size() < panicPercent;
    balancer = LoadBalancer.of(cluster, panic ? hosts : healthy);
    nextReturn = next;
  }

  // Outlier detection.

  /** An upstream answered with {@code status}. */
  public void answered(UpstreamHost host, int status) {
    if (outliers == null) {
      return;
    }
    if (status >= 500) {
      failed(host, status == 502 || status == 503 || status == 504);
    } else {
      if (host.consecutive5xx.get() != 0) {
        host.consecutive5xx.set(0);
      }
      if (host.consecutiveGateway.get() != 0) {
        host.consecutiveGateway.set(0);
      }
    }
  }

  /**
   * An attempt to the host failed without an answer (connect failure, reset, timeout): counted as a
   * gateway error, as Envoy counts local-origin errors when it does not split them.
   */
  public void unreachable(UpstreamHost host) {
    if (outliers != null) {
      failed(host, true);
    }
  }

  private void failed(UpstreamHost host, boolean gateway) {
    boolean eject = false;
    if (gateway) {
      if (host.consecutiveGateway.incrementAndGet() == outliers.consecutiveGateway()
          && outliers.consecutiveGateway() > 0) {
        eject = true;
      }
    } else {
      host.consecutiveGateway.set(0);
    }
    if (host.consecutive5xx.incrementAndGet() == outliers.consecutive5xx()
        && outliers.consecutive5xx() > 0) {
      eject = true;
    }
    if (eject) {
      eject(host);
    }
  }

  private synchronized void eject(UpstreamHost host) {
    if (host.ejected() || !hosts.contains(host)) {
      return;
    }
    long ejected = hosts.stream().filter(UpstreamHost::ejected).count();
    if (ejected > 0 && 100.0 * (ejected + 1) / hosts.size() > outliers.maxEjectionPercent()) {
      return;
    }
    long now = System.nanoTime();
    // The multiplier decays by one for each interval the host spent in rotation since it returned.
    if (host.ejections > 0 && host.returnedAt != 0) {
      long healthyIntervals = (now - host.returnedAt) / outliers.intervalNanos();
      host.ejections = (int) Math.max(0, host.ejections - healthyIntervals);
    }
    host.ejections++;
    long time =
        Math.min(outliers.maxEjectionNanos(), outliers.baseEjectionNanos() * host.ejections);
    long until = now + time;
    host.ejectedUntil = until == 0 ? 1 : until;
    host.consecutive5xx.set(0);
    host.consecutiveGateway.set(0);
    rebuild(now);
  }

  // Circuit breakers.

  /**
   * Admits a request: false when the requests in flight are at {@code max_requests}, or, for an
   * HTTP/1.1 upstream (one request per connection), at {@code max_connections} plus {@code
   * max_pending_requests}. Each admitted request calls {@link #requestDone()}.
   */
  public boolean tryRequest(boolean http1) {
    long limit =
        http1
            ? Math.min(limits.maxRequests(), limits.maxConnections() + limits.maxPending())
            : limits.maxRequests();
    if (counters.requests.incrementAndGet() > limit) {
      counters.requests.decrementAndGet();
      return false;
    }
    return true;
  }

  public void requestDone() {
    counters.requests.decrementAndGet();
  }

  /** Admits a retry: false at {@code max_retries} retries in flight. */
  public boolean tryRetry() {
    if (counters.retries.incrementAndGet() > limits.maxRetries()) {
      counters.retries.decrementAndGet();
      return false;
    }
    return true;
  }

  public void retryDone() {
    counters.retries.decrementAndGet();
  }

  /** Requests in flight, for the admin view. */
  public int requestsInFlight() {
    return counters.requests.get();
  }
}
