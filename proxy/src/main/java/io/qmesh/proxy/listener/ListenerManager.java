package io.qmesh.proxy.listener;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.ProxyStats;
import io.qmesh.proxy.xds.TypedConfigs;
import io.qmesh.proxy.xds.XdsResources;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Binds what the listeners from pilot ask for, as a gateway does: one HTTP listener per port of
 * each listener that binds (address, not {@code bind_to_port: false}) with an RDS connection
 * manager, routing with that route config. Reconciling closes ports no longer asked for and binds
 * new ones; a port that cannot be bound fails the whole update (the xDS client NACKs it) and what
 * this attempt bound is closed again.
 */
public final class ListenerManager {

  private record Bound(String routes, HttpProxy proxy, HttpServer server) {}

  private final Vertx vertx;
  private final Supplier<ProxyConfig> config;
  private final String host;
  private final Map<Integer, Bound> bound = new HashMap<>();
  private final ProxyStats stats;
  private final io.qmesh.proxy.telemetry.IstioMetrics metrics;

  public ListenerManager(Vertx vertx, Supplier<ProxyConfig> config, String host) {
    this(vertx, config, host, ProxyStats.unregistered());
  }

  public ListenerManager(Vertx vertx, Supplier<ProxyConfig> config, String host, ProxyStats stats) {
    this(vertx, config, host, stats, null);
  }

  /** Listeners that report Istio's metrics with {@code metrics} (null: none). */
  public ListenerManager(
      Vertx vertx,
      Supplier<ProxyConfig> config,
      String host,
      ProxyStats stats,
      io.qmesh.proxy.telemetry.IstioMetrics metrics) {
    this.vertx = vertx;
    this.config = config;
    this.host = host;
    this.stats = stats;
    this.metrics = metrics;
  }

  private volatile io.qmesh.proxy.telemetry.Tracers tracers;

  /** Listeners bound from now on trace with {@code tracers} (client spans, as a gateway's). */
  public ListenerManager tracing(io.qmesh.proxy.telemetry.Tracers tracers) {
    this.tracers = tracers;
    return this;
  }

  private volatile io.qmesh.proxy.security.MeshTls mtls;

  /**
   * Listeners bound from now on originate mutual TLS with {@code mtls} where the cluster asks for
   * it (null: never).
   */
  public ListenerManager securing(io.qmesh.proxy.security.MeshTls mtls) {
    this.mtls = mtls;
    return this;
  }

  /** Drains every bound listener (see {@link HttpProxy#drain}). */
  public synchronized Future<Void> drain(Duration max) {
    return Future.all(bound.values().stream().map(b -> b.proxy().drain(max)).toList()).mapEmpty();
  }

  /** The ports bound now, with their route configs. */
  public synchronized Map<Integer, String> ports() {
    Map<Integer, String> out = new TreeMap<>();
    bound.forEach((port, b) -> out.put(port, b.routes()));
    return out;
  }

  /**
   * @return null when the listeners are in place, or why not (the NACK reason)
   */
  public synchronized String reconcile(XdsResources resources) {
    Map<Integer, String> wanted = new TreeMap<>();
    for (Listener l : resources.listeners().values()) {
      if (!l.hasAddress() || (l.hasBindToPort() && !l.getBindToPort().getValue())) {
        continue;
      }
      String routes = rdsName(l);
      if (routes != null) {
        wanted.put(l.getAddress().getSocketAddress().getPortValue(), routes);
      }
    }
    List<Integer> added = new ArrayList<>();
    for (var e : wanted.entrySet()) {
      Bound current = bound.get(e.getKey());
      if (current != null && current.routes().equals(e.getValue())) {
        continue;
      }
      if (current != null) {
        close(current);
        bound.remove(e.getKey());
      }
      try {
        HttpProxy proxy =
            HttpProxy.withRoutes(vertx, config, e.getValue(), stats)
                .reporting(metrics)
                .tracing(tracers, false)
                .securing(mtls);
        HttpServer server =
            proxy
                .listen(host, e.getKey())
                .toCompletionStage()
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        bound.put(e.getKey(), new Bound(e.getValue(), proxy, server));
        added.add(e.getKey());
      } catch (ExecutionException | TimeoutException ex) {
        added.forEach(port -> close(bound.remove(port)));
        Throwable cause = ex instanceof ExecutionException ? ex.getCause() : ex;
        return "listener on port "
            + e.getKey()
            + ": cannot bind "
            + host
            + ":"
            + e.getKey()
            + ": "
            + cause.getMessage();
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        return "interrupted while binding port " + e.getKey();
      }
    }
    for (Integer port : List.copyOf(bound.keySet())) {
      if (!wanted.containsKey(port)) {
        close(bound.remove(port));
      }
    }
    return null;
  }

  private static void close(Bound b) {
    b.server().close();
  }

  private static String rdsName(Listener l) {
    for (FilterChain fc : l.getFilterChainsList()) {
      for (Filter f : fc.getFiltersList()) {
        if (TypedConfigs.is(f.getTypedConfig(), HttpConnectionManager.getDescriptor())) {
          try {
            HttpConnectionManager hcm =
                TypedConfigs.unpack(
                    f.getTypedConfig(),
                    HttpConnectionManager.getDescriptor(),
                    HttpConnectionManager.parser());
            if (hcm.hasRds()) {
              return hcm.getRds().getRouteConfigName();
            }
          } catch (InvalidProtocolBufferException e) {
            return null;
          }
        }
      }
    }
    return null;
  }
}
