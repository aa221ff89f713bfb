package io.qmesh.proxy.listener;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.cluster.UpstreamHost;
import io.qmesh.proxy.route.Action;
import io.qmesh.proxy.route.RouteTable;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * An HTTP listener of the proxy: takes a request, finds its route table, the route, the cluster and
 * a host, and forwards the request there, streaming both bodies. Failures answer with the status
 * and response flag of the stage that failed: 404 NR (no route), 503 UH (no host), 503 NC (unknown
 * cluster), 502 UF (upstream unreachable or reset). The config is read once per request. {@link
 * #outbound} routes by the request's target port (route config {@code <port>}), as a sidecar's
 * outbound side does; {@link #withRoutes} routes with one fixed route config, as a sidecar's
 * inbound side and a gateway's listeners do.
 */
public final class HttpProxy {

  private static final Set<String> HOP_BY_HOP =
      Set.of(
          "connection",
          "keep-alive",
          "proxy-connection",
          "proxy-authorization",
          "te",
          "trailer",
          "transfer-encoding",
          "upgrade");

  /** Istio's cluster for traffic to destinations the mesh does not know (outbound ALLOW_ANY). */
  static final String PASSTHROUGH = "PassthroughCluster";

  private final Vertx vertx;
  private final Supplier<ProxyConfig> config;
  private final Function<HttpRequestView, String> routeTable;
  private final HttpClient client;

  private HttpProxy(
      Vertx vertx, Supplier<ProxyConfig> config, Function<HttpRequestView, String> routeTable) {
    this.vertx = vertx;
    this.config = config;
    this.routeTable = routeTable;
    this.client =
        vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setMaxPoolSize(64));
  }

  /** Routes by the target port of each request: route config {@code "9080"} for reviews:9080. */
  public static HttpProxy outbound(Vertx vertx, Supplier<ProxyConfig> config) {
    return new HttpProxy(vertx, config, view -> String.valueOf(view.port()));
  }

  /**
   * Routes every request with one route config: {@code inbound|9080||} on a sidecar's inbound side,
   * {@code http.8080} on a gateway listener.
   */
  public static HttpProxy withRoutes(
      Vertx vertx, Supplier<ProxyConfig> config, String routeConfig) {
    return new HttpProxy(vertx, config, view -> routeConfig);
  }

  /** Listens on {@code host:port} (0 picks a free port). */
  public Future<HttpServer> listen(String host, int port) {
    return vertx.createHttpServer().requestHandler(this::handle).listen(port, host);
  }

  private void handle(HttpServerRequest in) {
    ProxyConfig cfg = config.get();
    HttpRequestView view = new HttpRequestView(in);
    RouteTable table = cfg.routes().get(routeTable.apply(view));
    if (table == null && cfg.clusters().containsKey(PASSTHROUGH)) {
      // A port no service uses: Istio's virtualOutbound passes it to its original destination.
      forward(in, view, cfg, PASSTHROUGH);
      return;
    }
    var matched = table == null ? null : table.match(view).orElse(null);
    if (matched == null) {
      fail(in, ResponseFlag.NR);
      return;
    }
    Action action = matched.route().action();
    if (action instanceof Action.ToCluster c) {
      forward(in, view, cfg, c.cluster());
    } else if (action instanceof Action.Weighted w) {
      forward(in, view, cfg, w.pick(ThreadLocalRandom.current()));
    } else if (action instanceof Action.Redirect r) {
      redirect(in, view, r);
    } else if (action instanceof Action.Direct d) {
      in.response().setStatusCode(d.status()).end(d.body());
    }
  }

  private void forward(
      HttpServerRequest in, HttpRequestView view, ProxyConfig cfg, String clusterName) {
    ProxyConfig.ClusterRuntime cluster = cfg.clusters().get(clusterName);
    if (cluster == null) {
      fail(in, ResponseFlag.NC);
      return;
    }
    UpstreamHost host =
        cluster.cluster().getType() == Cluster.DiscoveryType.ORIGINAL_DST
            ? originalDestination(view)
            : cluster.balancer().choose(ThreadLocalRandom.current().nextLong());
    if (host == null) {
      fail(in, ResponseFlag.UH);
      return;
    }
    in.pause();
    host.started();
    RequestOptions options =
        new RequestOptions()
            .setMethod(in.method())
            .setHost(host.address())
            .setPort(host.port())
            .setURI(view.path());
    in.headers()
        .forEach(
            h -> {
              if (!HOP_BY_HOP.contains(h.getKey().toLowerCase())) {
                options.addHeader(h.getKey(), h.getValue());
              }
            });
    options.putHeader("host", view.authority());
    client
        .request(options)
        .compose(out -> out.send(in))
        .onSuccess(
            resp -> {
              var response =
                  in.response()
                      .setStatusCode(resp.statusCode())
                      .setStatusMessage(resp.statusMessage());
              resp.headers()
                  .forEach(
                      h -> {
                        if (!HOP_BY_HOP.contains(h.getKey().toLowerCase())) {
                          response.headers().add(h.getKey(), h.getValue());
                        }
                      });
              resp.pipeTo(response).onComplete(done -> host.finished());
            })
        .onFailure(
            e -> {
              host.finished();
              fail(in, ResponseFlag.UF);
            });
  }

  /** The host and port the request itself names, for ORIGINAL_DST clusters (passthrough). */
  private static UpstreamHost originalDestination(HttpRequestView view) {
    String authority = view.authority();
    int colon = authority.lastIndexOf(':');
    String host =
        colon > 0 && authority.indexOf(']') < colon ? authority.substring(0, colon) : authority;
    return host.isEmpty() || view.port() <= 0 ? null : new UpstreamHost(host, view.port(), 1);
  }

  private static void redirect(HttpServerRequest in, HttpRequestView view, Action.Redirect r) {
    String scheme = r.scheme().isEmpty() ? "http" : r.scheme();
    String host = r.host().isEmpty() ? view.authority().replaceFirst(":\\d+$", "") : r.host();
    String port = r.port() > 0 ? ":" + r.port() : "";
    String path = r.path().isEmpty() ? view.path() : r.path();
    in.response()
        .setStatusCode(r.status())
        .putHeader("location", scheme + "://" + host + port + path)
        .end();
  }

  private static void fail(HttpServerRequest in, ResponseFlag flag) {
    if (in.response().ended() || in.response().headWritten()) {
      in.response().reset();
      return;
    }
    in.resume();
    in.response()
        .setStatusCode(flag.status)
        .putHeader("content-type", "text/plain")
        .end(flag.message + " (" + flag.name() + ")\n");
  }

  public Future<Void> close() {
    return client.close();
  }
}
