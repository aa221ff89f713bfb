package io.qmesh.proxy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.qmesh.proxy.listener.ResponseFlag;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The proxy's own counters, in Envoy's names where Envoy has one (the Istio standard metrics are
 * the observability issue's): downstream requests, responses by code class, requests in flight,
 * response flags, TCP connections and tunnels, upgrades. Every meter is registered once, up front,
 * so counting on the request path is an increment, never a lookup.
 */
public final class ProxyStats {

  private final Counter requests;
  private final Counter[] byClass = new Counter[6];
  private final Map<ResponseFlag, Counter> flags = new EnumMap<>(ResponseFlag.class);
  private final Counter tcpConnections;
  private final Counter upgrades;
  private final Counter retries;
  private final Counter retryOverflows;
  private final Counter mirrors;
  private final AtomicLong active = new AtomicLong();

  public ProxyStats(MeterRegistry registry) {
    requests =
        Counter.builder("envoy_http_downstream_rq")
            .description("Downstream HTTP requests")
            .register(registry);
    for (int c = 1; c <= 5; c++) {
      byClass[c] =
          Counter.builder("envoy_http_downstream_rq_xx")
              .description("Downstream HTTP responses by code class")
              .tag("envoy_response_code_class", String.valueOf(c))
              .register(registry);
    }
    for (ResponseFlag f : ResponseFlag.values()) {
      flags.put(
          f,
          Counter.builder("qmesh_proxy_response_flags")
              .description("Responses the proxy itself made, by Envoy response flag")
              .tag("response_flag", f.name())
              .register(registry));
    }
    Gauge.builder("envoy_http_downstream_rq_active", active, AtomicLong::get)
        .description("Downstream HTTP requests in flight")
        .register(registry);
    tcpConnections =
        Counter.builder("envoy_tcp_downstream_cx")
            .description("TCP connections and CONNECT tunnels proxied")
            .register(registry);
    upgrades =
        Counter.builder("envoy_http_downstream_cx_upgrades")
            .description("Connections upgraded (WebSocket)")
            .register(registry);
    retries =
        Counter.builder("envoy_cluster_upstream_rq_retry")
            .description("Upstream requests retried")
            .register(registry);
    retryOverflows =
        Counter.builder("envoy_cluster_upstream_rq_retry_overflow")
            .description("Retries not made because the cluster's retry breaker was open")
            .register(registry);
    mirrors =
        Counter.builder("envoy_http_rq_mirrored")
            .description("Requests copied to a mirror cluster")
            .register(registry);
  }

  /** Counters nobody reads: for proxies built without a registry (tests, tools). */
  public static ProxyStats unregistered() {
    return new ProxyStats(new SimpleMeterRegistry());
  }

  /** A request arrived; {@link #finished} follows once. */
  public void started() {
    requests.increment();
    active.incrementAndGet();
  }

  /** A request's response ended (or its connection went) with this status. */
  public void finished(int status) {
    active.decrementAndGet();
    int c = status / 100;
    if (c >= 1 && c <= 5) {
      byClass[c].increment();
    }
  }

  public void flag(ResponseFlag f) {
    flags.get(f).increment();
  }

  public void tcpConnection() {
    tcpConnections.increment();
  }

  public void upgrade() {
    upgrades.increment();
  }

  public void retry() {
    retries.increment();
  }

  public void retryOverflow() {
    retryOverflows.increment();
  }

  public void mirror() {
    mirrors.increment();
  }

  /** Requests in flight now. */
  public long active() {
    return active.get();
  }
}
