package io.qmesh.proxy;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.util.function.BooleanSupplier;

/**
 * Istio's readiness port (15021): {@code GET /healthz/ready} answers 200 once the proxy has its
 * config from pilot and its listeners up, 503 before; anything else is 404. Kubernetes probes it;
 * the laptop supervisor may too.
 */
public final class HealthServer {

  private HealthServer() {}

  public static Future<HttpServer> listen(
      Vertx vertx, String host, int port, BooleanSupplier ready) {
    return vertx
        .createHttpServer()
        .requestHandler(
            req -> {
              if (!req.path().equals("/healthz/ready")) {
                req.response().setStatusCode(404).end();
              } else if (ready.getAsBoolean()) {
                req.response().putHeader("content-type", "text/plain").end("ready\n");
              } else {
                req.response()
                    .setStatusCode(503)
                    .putHeader("content-type", "text/plain")
                    .end("not ready: no config from pilot yet\n");
              }
            })
        .listen(port, host);
  }
}
