package io.qmesh.proxy;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.util.function.Supplier;

/**
 * Istio's Prometheus ports: 15090 serves the proxy's own metrics ({@code /stats/prometheus}), 15020
 * the same merged with the application's when it exposes them (Istio's metrics merging: one scrape
 * target per workload). The application's endpoint is read on each scrape; when it does not answer,
 * the proxy's metrics are served alone.
 */
public final class StatsServer {

  private StatsServer() {}

  /**
   * Serves {@code GET /stats/prometheus} on {@code host:port}: the proxy's metrics, followed by the
   * text {@code appMetrics} (an {@code http://} URL, or null for none) answers with.
   */
  public static Future<HttpServer> listen(
      Vertx vertx, String host, int port, Supplier<String> proxyMetrics, String appMetrics) {
    HttpClient client = appMetrics == null ? null : vertx.createHttpClient();
    RequestOptions app = appMetrics == null ? null : options(appMetrics);
    return vertx
        .createHttpServer()
        .requestHandler(
            req -> {
              if (!req.path().equals("/stats/prometheus")) {
                req.response().setStatusCode(404).end();
                return;
              }
              var resp =
                  req.response()
                      .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8");
              // Rendering every series takes a while in a large mesh: on a worker thread, so that
              // the event loop (which may carry proxied requests) does not wait for it.
              vertx
                  .executeBlocking(proxyMetrics::get, false)
                  .onSuccess(own -> merged(own, client, app, resp))
                  .onFailure(e -> resp.setStatusCode(500).end(String.valueOf(e.getMessage())));
            })
        .listen(port, host);
  }

  /** Ends {@code resp} with the proxy's metrics followed by the app's, or alone without them. */
  private static void merged(
      String own,
      HttpClient client,
      RequestOptions app,
      io.vertx.core.http.HttpServerResponse resp) {
    if (client == null) {
      resp.end(own);
      return;
    }
    client
        .request(new RequestOptions(app))
        .compose(
            r ->
                r.send()
                    .compose(
                        a ->
                            a.statusCode() == 200
                                ? a.body()
                                : Future.failedFuture("status " + a.statusCode())))
        .onComplete(
            ar -> {
              if (ar.succeeded()) {
                String text = ar.result().toString();
                resp.end(own.endsWith("\n") ? own + text : own + "\n" + text);
              } else {
                resp.end(own);
              }
            });
  }

  private static RequestOptions options(String url) {
    URI u = URI.create(url);
    if (!"http".equals(u.getScheme()) || u.getHost() == null) {
      throw new IllegalArgumentException(
          "the application's metrics must be an http:// URL, got '" + url + "'");
    }
    return new RequestOptions()
        .setMethod(HttpMethod.GET)
        .setHost(u.getHost())
        .setPort(u.getPort() < 0 ? 80 : u.getPort())
        .setURI(u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath())
        .setTimeout(5000);
  }
}
