package io.qmesh.echo;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The HTTP face: every path answers with what the server saw, one {@code Key=Value} per line
 * (Istio's echo format), shaped by {@link Plan}; a WebSocket upgrade echoes each frame back.
 */
@Singleton
public class EchoRoutes {

  private final Identity identity;
  private final EchoConfig config;

  public EchoRoutes(Identity identity, EchoConfig config) {
    this.identity = identity;
    this.config = config;
  }

  void install(@Observes Router router) {
    router.route().handler(this::upgradeWebSocket);
    router.route().handler(BodyHandler.create(false));
    router.route().handler(this::echo);
  }

  private void upgradeWebSocket(RoutingContext ctx) {
    if (!"websocket".equalsIgnoreCase(ctx.request().getHeader("upgrade"))) {
      ctx.next();
      return;
    }
    ctx.request()
        .toWebSocket()
        .onSuccess(
            ws -> {
              ws.textMessageHandler(ws::writeTextMessage);
              ws.binaryMessageHandler(ws::writeBinaryMessage);
            })
        .onFailure(e -> ctx.fail(400, e));
  }

  private void echo(RoutingContext ctx) {
    Map<String, List<String>> query = new TreeMap<>();
    ctx.queryParams()
        .forEach(e -> query.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue()));
    Plan plan;
    try {
      plan =
          Plan.decide(query, config.failFraction(), config.failCode(), ThreadLocalRandom.current());
    } catch (IllegalArgumentException e) {
      ctx.response()
          .setStatusCode(400)
          .putHeader("content-type", "text/plain; charset=utf-8")
          .end(e.getMessage() + "\n");
      return;
    }
    String body = describe(ctx, plan.status());
    Runnable send =
        () -> {
          HttpServerResponse response = ctx.response();
          if (response.closed() || response.ended()) {
            return;
          }
          response.setStatusCode(plan.status());
          plan.headers().forEach(h -> response.putHeader(h.getKey(), h.getValue()));
          response.putHeader("content-type", "text/plain; charset=utf-8").end(body);
        };
    long delayMs = plan.delay().toMillis();
    if (delayMs > 0) {
      ctx.vertx().setTimer(delayMs, id -> send.run());
    } else {
      send.run();
    }
  }

  private String describe(RoutingContext ctx, int status) {
    HttpServerRequest request = ctx.request();
    StringBuilder out = new StringBuilder(512);
    line(out, "ServiceVersion", identity.version());
    line(out, "ServicePort", String.valueOf(request.localAddress().port()));
    line(out, "Host", request.host());
    line(out, "URL", request.uri());
    line(out, "Method", request.method().name());
    line(out, "Proto", protocol(request));
    line(out, "IP", request.remoteAddress().hostAddress());
    line(out, "Hostname", identity.hostname());
    new TreeMap<>(groupHeaders(request))
        .forEach((name, values) -> values.forEach(v -> line(out, "RequestHeader", name + ":" + v)));
    line(out, "BodyLength", String.valueOf(Math.max(0, ctx.body().length())));
    line(out, "StatusCode", String.valueOf(status));
    return out.toString();
  }

  private static Map<String, List<String>> groupHeaders(HttpServerRequest request) {
    Map<String, List<String>> grouped = new TreeMap<>();
    request
        .headers()
        .forEach(
            e ->
                grouped
                    .computeIfAbsent(e.getKey().toLowerCase(), k -> new ArrayList<>())
                    .add(e.getValue()));
    return grouped;
  }

  private static String protocol(HttpServerRequest request) {
    return switch (request.version()) {
      case HTTP_1_0 -> "HTTP/1.0";
      case HTTP_1_1 -> "HTTP/1.1";
      case HTTP_2 -> "HTTP/2.0";
    };
  }

  static void line(StringBuilder out, String key, String value) {
    out.append(key).append('=').append(value).append('\n');
  }
}
