package io.qmesh.proxy.listener;

import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.ProxyStats;
import io.qmesh.proxy.xds.XdsResources;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Real upstream servers on 127.0.0.1 that behave as the request's path says, and record what they
 * received; plus an outbound proxy in front of them whose config a test sets, and a client that
 * uses the proxy as its HTTP proxy (requests in absolute form, as a laptop app sends them).
 *
 * <p>Paths: {@code /status/<code>} answers that status; {@code /fail/<n>} answers 503 to the first
 * n requests carrying the same {@code x-key} (over all backends), then 200; {@code /slow/<ms>}
 * answers after that long; {@code /slow-first/<ms>} only the first request per {@code x-key};
 * {@code /echo} answers the request body; anything else 200. Every answer says which backend gave
 * it ({@code backend} header and body prefix) and how many requests that key has seen.
 */
final class Backends implements AutoCloseable {

  /** What a backend received. */
  record Received(int port, String method, String path, String host, Map<String, String> headers) {}

  final Vertx vertx = Vertx.vertx();
  final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
  final Map<String, AtomicInteger> byKey = new ConcurrentHashMap<>();
  final AtomicReference<ProxyConfig> config = new AtomicReference<>(ProxyConfig.EMPTY);
  final ProxyStats stats;
  final io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
      new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
  private final List<HttpServer> servers = new java.util.ArrayList<>();
  final int proxyPort;
  HttpClient client;

  Backends() throws Exception {
    stats = new ProxyStats(registry);
    HttpProxy proxy = HttpProxy.outbound(vertx, config::get, stats);
    proxyPort = await(proxy.listen("127.0.0.1", 0)).actualPort();
    client =
        HttpClient.newBuilder()
            .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", proxyPort)))
            .connectTimeout(Duration.ofSeconds(5))
            .build();
  }

  /** Sends the client's requests through another proxy listening on {@code port}. */
  void useClientProxy(int port) {
    client =
        HttpClient.newBuilder()
            .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", port)))
            .connectTimeout(Duration.ofSeconds(5))
            .build();
  }

  /** A TCP server that echoes what it reads; its port. */
  int tcpEcho() throws Exception {
    return await(
            vertx.createNetServer().connectHandler(s -> s.handler(s::write)).listen(0, "127.0.0.1"))
        .actualPort();
  }

  /** Starts a backend; returns its port. */
  int start() throws Exception {
    HttpServer s = vertx.createHttpServer().requestHandler(this::handle);
    int port = await(s.listen(0, "127.0.0.1")).actualPort();
    servers.add(s);
    return port;
  }

  /** Stops the backend on {@code port} (its port then refuses connections). */
  void stop(int port) throws Exception {
    for (HttpServer s : servers) {
      if (s.actualPort() == port) {
        await(s.close());
      }
    }
  }

  /** A port nothing listens on. */
  static int deadPort() throws Exception {
    try (var s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  void use(XdsResources resources) {
    config.set(ProxyConfig.compile(resources, config.get()));
  }

  private void handle(HttpServerRequest req) {
    int port = req.localAddress().port();
    Map<String, String> headers = new java.util.TreeMap<>();
    req.headers()
        .forEach(h -> headers.merge(h.getKey().toLowerCase(), h.getValue(), (a, b) -> a + "," + b));
    received.add(new Received(port, req.method().name(), req.uri(), req.host(), headers));
    String key = req.getHeader("x-key") == null ? "" : req.getHeader("x-key");
    int seen = byKey.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    String[] parts = req.path().split("/");
    String what = parts.length > 1 ? parts[1] : "";
    int arg = parts.length > 2 ? Integer.parseInt(parts[2]) : 0;
    req.body()
        .onSuccess(
            body -> {
              var resp =
                  req.response()
                      .putHeader("backend", String.valueOf(port))
                      .putHeader("seen", String.valueOf(seen));
              String text = port + " " + seen;
              switch (what) {
                case "status" -> resp.setStatusCode(arg).end(text);
                case "fail" -> resp.setStatusCode(seen <= arg ? 503 : 200).end(text);
                case "slow" -> vertx.setTimer(arg, t -> resp.end(text));
                case "slow-first" -> {
                  if (seen == 1) {
                    vertx.setTimer(arg, t -> resp.end(text));
                  } else {
                    resp.end(text);
                  }
                }
                case "echo" -> resp.end(body);
                default -> resp.end(text);
              }
            });
  }

  HttpResponse<String> get(String authority, String path, String... headers) throws Exception {
    return send("GET", authority, path, null, headers);
  }

  HttpResponse<String> send(
      String method, String authority, String path, String body, String... headers)
      throws Exception {
    return client.send(
        request(method, authority, path, body, headers), HttpResponse.BodyHandlers.ofString());
  }

  static HttpRequest request(
      String method, String authority, String path, String body, String... headers) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://" + authority + path))
            .timeout(Duration.ofSeconds(20))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return b.build();
  }

  double flagCount(String flag) {
    return registry.get("qmesh_proxy_response_flags").tag("response_flag", flag).counter().count();
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    await(vertx.close());
  }
}
