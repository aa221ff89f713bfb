package io.qmesh.proxy.listener;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.ProxyStats;
import io.qmesh.proxy.cluster.UpstreamHost;
import io.qmesh.proxy.route.Action;
import io.qmesh.proxy.route.HashPolicy;
import io.qmesh.proxy.route.RouteTable;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * An HTTP listener of the proxy: takes a request, finds its route table, the route, the cluster and
 * a host, and forwards the request there, streaming both bodies. Failures answer with the status
 * and response flag of the stage that failed: 404 NR (no route), 503 UH (no host), 503 NC (unknown
 * cluster), 502 UF (upstream unreachable or reset). The config is read once per request.
 *
 * <p>Downstream it speaks HTTP/1.1 and HTTP/2 in clear text (h2c, by prior knowledge or upgrade);
 * upstream, each cluster's protocol (HTTP/1.1, h2c, or the downstream's), with the response's
 * trailers passed on, so gRPC works end to end. A {@code CONNECT host:port} (how a laptop app's
 * gRPC or TCP client goes through its HTTP proxy) opens a tunnel: for a port with HTTP routes, back
 * into this listener, where the tunnelled requests are routed like any other; for a TCP service, to
 * one of its endpoints; otherwise to the original destination when passthrough is allowed. {@link
 * #outbound} routes by the request's target port (route config {@code <port>}), as a sidecar's
 * outbound side does; {@link #withRoutes} routes with one fixed route config, as a sidecar's
 * inbound side and a gateway's listeners do.
 */
public final class HttpProxy {

  /**
   * Whether a header is hop-by-hop (connection, keep-alive, proxy-connection, proxy-authorization,
   * te, trailer, transfer-encoding, upgrade): checked on every header of every request and
   * response, so without lower-casing a copy of the name.
   */
  static boolean hopByHop(String name) {
    return switch (name.length()) {
      case 2 -> name.equalsIgnoreCase("te");
      case 7 -> name.equalsIgnoreCase("trailer") || name.equalsIgnoreCase("upgrade");
      case 10 -> name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
      case 16 -> name.equalsIgnoreCase("proxy-connection");
      case 17 -> name.equalsIgnoreCase("transfer-encoding");
      case 19 -> name.equalsIgnoreCase("proxy-authorization");
      default -> false;
    };
  }

  /** Istio's cluster for traffic to destinations the mesh does not know (outbound ALLOW_ANY). */
  static final String PASSTHROUGH = "PassthroughCluster";

  private final Vertx vertx;
  private final Supplier<ProxyConfig> config;
  private final Function<HttpRequestView, String> routeTable;
  private final HttpClient http1;
  private final HttpClient http2;
  private final NetClient tcp;
  private final ProxyStats stats;
  private volatile int listenPort;
  private volatile boolean draining;

  private HttpProxy(
      Vertx vertx,
      Supplier<ProxyConfig> config,
      Function<HttpRequestView, String> routeTable,
      ProxyStats stats) {
    this.vertx = vertx;
    this.config = config;
    this.routeTable = routeTable;
    this.stats = stats;
    this.http1 =
        vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setMaxPoolSize(64));
    this.http2 =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(false)
                .setKeepAlive(true));
    this.tcp = vertx.createNetClient();
  }

  /** Routes by the target port of each request: route config {@code "9080"} for reviews:9080. */
  public static HttpProxy outbound(Vertx vertx, Supplier<ProxyConfig> config) {
    return outbound(vertx, config, ProxyStats.unregistered());
  }

  /** {@link #outbound(Vertx, Supplier)}, counting in {@code stats}. */
  public static HttpProxy outbound(Vertx vertx, Supplier<ProxyConfig> config, ProxyStats stats) {
    return new HttpProxy(vertx, config, view -> String.valueOf(view.port()), stats);
  }

  /**
   * Routes every request with one route config: {@code inbound|9080||} on a sidecar's inbound side,
   * {@code http.8080} on a gateway listener.
   */
  public static HttpProxy withRoutes(
      Vertx vertx, Supplier<ProxyConfig> config, String routeConfig) {
    return withRoutes(vertx, config, routeConfig, ProxyStats.unregistered());
  }

  /** {@link #withRoutes(Vertx, Supplier, String)}, counting in {@code stats}. */
  public static HttpProxy withRoutes(
      Vertx vertx, Supplier<ProxyConfig> config, String routeConfig, ProxyStats stats) {
    return new HttpProxy(vertx, config, view -> routeConfig, stats);
  }

  /**
   * Starts draining: responses from now on ask HTTP/1.1 clients to close their connection (HTTP/2
   * clients get GOAWAY when the listener closes), and the future completes once no request is in
   * flight, or after {@code max}. The caller then closes the listener.
   */
  public Future<Void> drain(Duration max) {
    draining = true;
    long deadline = System.nanoTime() + max.toNanos();
    io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
    if (stats.active() == 0) {
      done.complete();
      return done.future();
    }
    vertx.setPeriodic(
        20,
        id -> {
          if (stats.active() == 0 || System.nanoTime() > deadline) {
            vertx.cancelTimer(id);
            done.tryComplete();
          }
        });
    return done.future();
  }

  /** Listens on {@code host:port} (0 picks a free port). */
  public Future<HttpServer> listen(String host, int port) {
    return vertx
        .createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(true))
        .requestHandler(this::handle)
        .listen(port, host)
        .onSuccess(s -> listenPort = s.actualPort());
  }

  private void handle(HttpServerRequest in) {
    stats.started();
    Finish finish = new Finish(vertx, in.response(), stats);
    in.response().endHandler(finish).closeHandler(finish);
    if (draining && in.version() != HttpVersion.HTTP_2) {
      in.response().putHeader("connection", "close");
    }
    ProxyConfig cfg = config.get();
    if (in.method() == HttpMethod.CONNECT) {
      connect(in, cfg);
      return;
    }
    HttpRequestView view = new HttpRequestView(in);
    RouteTable table = cfg.routes().get(routeTable.apply(view));
    if (table == null && cfg.clusters().containsKey(PASSTHROUGH)) {
      // A port no service uses: Istio's virtualOutbound passes it to its original destination.
      forward(in, view, cfg, PASSTHROUGH, 0, null, finish);
      return;
    }
    var matched = table == null ? null : table.match(view).orElse(null);
    if (matched == null) {
      fail(in, ResponseFlag.NR);
      return;
    }
    Action action = matched.route().action();
    HashPolicy hashPolicy = matched.route().hashPolicy();
    long hash =
        hashPolicy == null
            ? ThreadLocalRandom.current().nextLong()
            : hashPolicy
                .hash(view, in.remoteAddress() == null ? null : in.remoteAddress().hostAddress())
                .orElseGet(() -> ThreadLocalRandom.current().nextLong());
    if (action instanceof Action.ToCluster c) {
      forward(in, view, cfg, c.cluster(), hash, matched.route().timeout(), finish);
    } else if (action instanceof Action.Weighted w) {
      forward(
          in,
          view,
          cfg,
          w.pick(ThreadLocalRandom.current()),
          hash,
          matched.route().timeout(),
          finish);
    } else if (action instanceof Action.Redirect r) {
      redirect(in, view, r);
    } else if (action instanceof Action.Direct d) {
      in.response().setStatusCode(d.status()).end(d.body());
    }
  }

  /**
   * To a host of the cluster, chosen by its balancer with {@code hash} (the route's consistent hash
   * of the request, or a random number when it has none).
   */
  private void forward(
      HttpServerRequest in,
      HttpRequestView view,
      ProxyConfig cfg,
      String clusterName,
      long hash,
      Duration timeout,
      Finish finish) {
    ProxyConfig.ClusterRuntime cluster = cfg.clusters().get(clusterName);
    if (cluster == null) {
      fail(in, ResponseFlag.NC);
      return;
    }
    UpstreamHost host =
        cluster.cluster().getType() == Cluster.DiscoveryType.ORIGINAL_DST
            ? originalDestination(view)
            : cluster.balancer().choose(hash);
    if (host == null) {
      fail(in, ResponseFlag.UH);
      return;
    }
    if (isWebSocket(in)) {
      webSocket(in, view, host);
      return;
    }
    in.pause();
    host.started();
    HttpClient client =
        switch (cluster.protocol()) {
          case HTTP2 -> http2;
          case DOWNSTREAM -> in.version() == HttpVersion.HTTP_2 ? http2 : http1;
          case HTTP1 -> http1;
        };
    RequestOptions options =
        new RequestOptions()
            .setMethod(in.method())
            .setHost(host.address())
            .setPort(host.port())
            .setURI(view.path());
    in.headers()
        .forEach(
            h -> {
              if (!hopByHop(h.getKey()) || isTeTrailers(h.getKey(), h.getValue())) {
                options.addHeader(h.getKey(), h.getValue());
              }
            });
    HostAndPort authority =
        client == http2 ? HostAndPort.parseAuthority(view.authority(), -1) : null;
    if (authority == null) {
      options.putHeader("host", view.authority());
    }
    // The route's timeout (Envoy's: the whole upstream response, 0 = none): 504 UT when it
    // passes before the response has begun, a reset when it passes while streaming.
    finish.timer =
        timeout == null || timeout.isZero()
            ? -1
            : vertx.setTimer(
                timeout.toMillis(),
                t -> {
                  if (in.response().ended()) {
                    return;
                  }
                  if (in.response().headWritten()) {
                    in.response().reset();
                  } else {
                    fail(in, ResponseFlag.UT);
                  }
                  if (finish.upstream != null) {
                    finish.upstream.reset();
                  }
                });
    client
        .request(options)
        .compose(
            out -> {
              finish.upstream = out;
              if (authority != null) {
                // HTTP/2 carries it as :authority, which must agree with any host header.
                out.authority(authority);
              }
              return out.send(in);
            })
        .onSuccess(
            resp -> {
              if (in.response().ended()) {
                // Timed out (answered 504) while the upstream was still deciding.
                resp.request().reset();
                host.finished();
                return;
              }
              var response =
                  in.response()
                      .setStatusCode(resp.statusCode())
                      .setStatusMessage(resp.statusMessage());
              if (!resp.headers().contains("content-length")) {
                // Streamed upstream (chunked, or HTTP/2 without a length): stream it on.
                response.setChunked(true);
              }
              resp.headers()
                  .forEach(
                      h -> {
                        if (!hopByHop(h.getKey())) {
                          response.headers().add(h.getKey(), h.getValue());
                        }
                      });
              resp.pipe()
                  .endOnComplete(false)
                  .to(response)
                  .onComplete(
                      done -> {
                        host.finished();
                        if (done.failed()) {
                          response.reset();
                          return;
                        }
                        // gRPC's status travels in the trailers.
                        if (!resp.trailers().isEmpty()) {
                          response.trailers().addAll(resp.trailers());
                        }
                        response.end();
                      });
            })
        .onFailure(
            e -> {
              host.finished();
              if (!in.response().ended()) {
                fail(in, ResponseFlag.UF);
              }
            });
  }

  /** An HTTP/1.1 upgrade to WebSocket. */
  private static boolean isWebSocket(HttpServerRequest in) {
    String upgrade = in.getHeader("upgrade");
    return in.version() != HttpVersion.HTTP_2
        && upgrade != null
        && upgrade.equalsIgnoreCase("websocket");
  }

  /**
   * A WebSocket, relayed as Envoy relays upgrades: the upgrade request goes upstream as it came
   * (its key, version, subprotocols and extensions untouched), and when the upstream answers 101
   * its handshake headers go back downstream and the two connections are piped byte for byte,
   * whatever subprotocol or extension they agreed. An upstream that refuses the upgrade answers
   * with its own status; one that cannot be reached is 502 UF.
   */
  private void webSocket(HttpServerRequest in, HttpRequestView view, UpstreamHost host) {
    in.pause();
    host.started();
    StringBuilder head = new StringBuilder();
    head.append(in.method().name()).append(' ').append(view.path()).append(" HTTP/1.1\r\n");
    head.append("host: ").append(view.authority()).append("\r\n");
    in.headers()
        .forEach(
            h -> {
              String name = h.getKey().toLowerCase();
              if (!name.equals("host")
                  && (!hopByHop(name) || name.equals("upgrade") || name.equals("connection"))) {
                head.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
              }
            });
    head.append("\r\n");
    tcp.connect(host.port(), host.address())
        .onSuccess(
            up -> {
              Buffer received = Buffer.buffer();
              up.handler(
                  data -> {
                    received.appendBuffer(data);
                    int end = indexOf(received, "\r\n\r\n");
                    if (end < 0) {
                      return;
                    }
                    up.pause();
                    up.handler(null);
                    upgraded(in, up, host, received, end);
                  });
              up.closeHandler(v -> host.finished());
              up.write(head.toString());
            })
        .onFailure(
            e -> {
              host.finished();
              if (!in.response().ended()) {
                fail(in, ResponseFlag.UF);
              }
            });
  }

  /** The upstream's answer to an upgrade ({@code head} ends at {@code end}): relay or refuse. */
  private void upgraded(
      HttpServerRequest in, NetSocket up, UpstreamHost host, Buffer received, int end) {
    String[] lines = received.getString(0, end).split("\r\n");
    String[] status = lines[0].split(" ", 3);
    int code = status.length > 1 && status[1].matches("\\d{3}") ? Integer.parseInt(status[1]) : 502;
    in.resume();
    if (code != 101) {
      up.close();
      in.response().setStatusCode(code).end();
      return;
    }
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon > 0) {
        String name = lines[i].substring(0, colon).trim();
        if (name.toLowerCase().startsWith("sec-websocket-")) {
          in.response().headers().add(name, lines[i].substring(colon + 1).trim());
        }
      }
    }
    in.response().headers().set("upgrade", "websocket").set("connection", "Upgrade");
    Buffer early = received.getBuffer(end + 4, received.length());
    in.toNetSocket()
        .onSuccess(
            down -> {
              stats.upgrade();
              if (early.length() > 0) {
                down.write(early);
              }
              down.pipeTo(up);
              up.pipeTo(down);
              up.resume();
            })
        .onFailure(e -> up.close());
  }

  private static int indexOf(Buffer b, String s) {
    byte[] needle = s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    outer:
    for (int i = 0; i <= b.length() - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (b.getByte(i + j) != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** {@code te: trailers} is the one TE value that crosses a proxy: gRPC requires it. */
  private static boolean isTeTrailers(String name, String value) {
    return name.equalsIgnoreCase("te") && value.trim().equalsIgnoreCase("trailers");
  }

  /** A CONNECT tunnel to where {@code host:port} leads in the mesh (see the class comment). */
  private void connect(HttpServerRequest in, ProxyConfig cfg) {
    String authority = in.uri();
    int colon = authority.lastIndexOf(':');
    int port = -1;
    if (colon > 0) {
      try {
        port = Integer.parseInt(authority.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = -1;
      }
    }
    if (port <= 0 || port > 65535) {
      in.response()
          .setStatusCode(400)
          .putHeader("content-type", "text/plain")
          .end("CONNECT needs host:port, got '" + authority + "'\n");
      return;
    }
    UpstreamHost target;
    String tcpCluster = cfg.tcpRoutes().get(port);
    if (cfg.routes().containsKey(String.valueOf(port)) && listenPort > 0) {
      target = new UpstreamHost("127.0.0.1", listenPort, 1);
    } else if (tcpCluster != null) {
      ProxyConfig.ClusterRuntime cluster = cfg.clusters().get(tcpCluster);
      if (cluster == null) {
        fail(in, ResponseFlag.NC);
        return;
      }
      target = cluster.balancer().choose(ThreadLocalRandom.current().nextLong());
      if (target == null) {
        fail(in, ResponseFlag.UH);
        return;
      }
    } else if (cfg.clusters().containsKey(PASSTHROUGH)) {
      target = new UpstreamHost(authority.substring(0, colon), port, 1);
    } else {
      fail(in, ResponseFlag.NR);
      return;
    }
    in.pause();
    tcp.connect(target.port(), target.address())
        .onSuccess(
            up ->
                in.toNetSocket()
                    .onSuccess(
                        down -> {
                          stats.tcpConnection();
                          down.pipeTo(up);
                          up.pipeTo(down);
                        })
                    .onFailure(e -> up.close()))
        .onFailure(e -> fail(in, ResponseFlag.UF));
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

  /**
   * A request's end, handled once whether its response ended or its connection went first: counts
   * it, cancels its timeout, and resets the upstream request a vanished client no longer wants.
   */
  private static final class Finish implements io.vertx.core.Handler<Void> {
    private final Vertx vertx;
    private final io.vertx.core.http.HttpServerResponse response;
    private final ProxyStats stats;
    private boolean done;
    long timer = -1;
    io.vertx.core.http.HttpClientRequest upstream;

    Finish(Vertx vertx, io.vertx.core.http.HttpServerResponse response, ProxyStats stats) {
      this.vertx = vertx;
      this.response = response;
      this.stats = stats;
    }

    @Override
    public void handle(Void v) {
      if (done) {
        return;
      }
      done = true;
      stats.finished(response.ended() ? response.getStatusCode() : 0);
      if (timer >= 0) {
        vertx.cancelTimer(timer);
      }
      if (!response.ended() && upstream != null) {
        upstream.reset();
      }
    }
  }

  private void fail(HttpServerRequest in, ResponseFlag flag) {
    stats.flag(flag);
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
    return Future.all(http1.close(), http2.close(), tcp.close()).mapEmpty();
  }
}
