package io.qmesh.bookinfo.common;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A scripted HTTP server on 127.0.0.1 standing in for a Bookinfo service in tests: it answers each
 * path prefix with a canned status, JSON body and delay, and records every request.
 */
public final class FakeUpstream implements AutoCloseable {

  /** A request as the fake saw it; header names are lower case. */
  public record Recorded(String method, URI uri, Map<String, String> headers) {}

  private record Script(int status, String body, Duration delay) {}

  private final HttpServer server;
  private final Map<String, Script> scripts = new ConcurrentHashMap<>();
  private final List<Recorded> recorded = new CopyOnWriteArrayList<>();

  public FakeUpstream() {
    server = Loopback.start(this::handle);
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** Answers requests whose path starts with {@code pathPrefix}. */
  public FakeUpstream respond(String pathPrefix, int status, String body) {
    return respond(pathPrefix, status, body, Duration.ZERO);
  }

  /** Answers requests whose path starts with {@code pathPrefix} after a delay. */
  public FakeUpstream respond(String pathPrefix, int status, String body, Duration delay) {
    scripts.put(pathPrefix, new Script(status, body, delay));
    return this;
  }

  public List<Recorded> requests() {
    return List.copyOf(recorded);
  }

  /** Forgets the scripts and the recorded requests. */
  public void reset() {
    scripts.clear();
    recorded.clear();
  }

  private void handle(HttpExchange exchange) throws IOException {
    Map<String, String> headers = new TreeMap<>();
    exchange
        .getRequestHeaders()
        .forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), String.join(",", v)));
    recorded.add(new Recorded(exchange.getRequestMethod(), exchange.getRequestURI(), headers));
    String path = exchange.getRequestURI().getPath();
    Script script =
        scripts.entrySet().stream()
            .filter(e -> path.startsWith(e.getKey()))
            .max(Map.Entry.comparingByKey((a, b) -> Integer.compare(a.length(), b.length())))
            .map(Map.Entry::getValue)
            .orElse(new Script(404, "{\"error\":\"no script for " + path + "\"}", Duration.ZERO));
    try {
      Thread.sleep(script.delay().toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    byte[] body = script.body().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("content-type", "application/json");
    exchange.sendResponseHeaders(script.status(), body.length == 0 ? -1 : body.length);
    try (var out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
