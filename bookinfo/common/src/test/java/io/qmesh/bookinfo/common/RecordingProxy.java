package io.qmesh.bookinfo.common;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A minimal forward HTTP proxy on 127.0.0.1 for tests: it accepts absolute-form requests ({@code
 * GET http://details:9080/details/0}), records the target, and forwards to the port registered for
 * that host name, so a test proves that an application's calls went through the proxy.
 */
public final class RecordingProxy implements AutoCloseable {

  private static final Set<String> HOP_BY_HOP =
      Set.of("host", "connection", "content-length", "keep-alive", "proxy-connection", "upgrade");

  private final HttpServer server;
  private final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final Map<String, Integer> routes = new ConcurrentHashMap<>();
  private final List<URI> seen = new CopyOnWriteArrayList<>();

  public RecordingProxy() {
    server = Loopback.start(this::handle);
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** Sends requests for {@code host} to 127.0.0.1:{@code port}. */
  public RecordingProxy route(String host, int port) {
    routes.put(host, port);
    return this;
  }

  /** The absolute request targets received, in order. */
  public List<URI> targets() {
    return List.copyOf(seen);
  }

  private void handle(HttpExchange exchange) throws IOException {
    URI target = exchange.getRequestURI();
    seen.add(target);
    Integer port = target.getHost() == null ? null : routes.get(target.getHost());
    if (port == null) {
      exchange.sendResponseHeaders(502, -1);
      exchange.close();
      return;
    }
    HttpRequest.Builder forward =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + target.getRawPath()))
            .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.noBody());
    exchange
        .getRequestHeaders()
        .forEach(
            (name, values) -> {
              if (!HOP_BY_HOP.contains(name.toLowerCase())) {
                values.forEach(v -> forward.header(name, v));
              }
            });
    try {
      HttpResponse<byte[]> response =
          client.send(forward.build(), HttpResponse.BodyHandlers.ofByteArray());
      byte[] body = response.body();
      response
          .headers()
          .firstValue("content-type")
          .ifPresent(v -> exchange.getResponseHeaders().set("content-type", v));
      exchange.sendResponseHeaders(response.statusCode(), body.length == 0 ? -1 : body.length);
      try (var out = exchange.getResponseBody()) {
        out.write(body);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      exchange.sendResponseHeaders(502, -1);
      exchange.close();
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
