package io.qmesh.proxy.listener;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.netty.util.AsciiString;
import io.netty.util.NetUtil;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.ProxyStats;
import io.qmesh.proxy.cluster.UpstreamHost;
import io.qmesh.proxy.route.Action;
import io.qmesh.proxy.route.CompiledRoute;
import io.qmesh.proxy.route.Cors;
import io.qmesh.proxy.route.Fault;
import io.qmesh.proxy.route.HashPolicy;
import io.qmesh.proxy.route.HeaderOps;
import io.qmesh.proxy.route.RouteTable;
import io.qmesh.proxy.security.MeshTls;
import io.qmesh.proxy.security.Origination;
import io.qmesh.proxy.telemetry.AccessLog;
import io.qmesh.proxy.telemetry.IstioMetrics;
import io.qmesh.proxy.telemetry.Observers;
import io.qmesh.proxy.telemetry.Peer;
import io.qmesh.proxy.telemetry.Tracers;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * An HTTP listener of the proxy: takes a request, finds its route table, the route, the cluster and
 * a host, and forwards the request there, streaming both bodies. Failures answer with the status
 * and response flag of the stage that failed: 404 NR (no route), 503 UH (no host), 503 NC (unknown
 * cluster), 503 UF (upstream unreachable), 503 UC (upstream reset before answering), as Envoy. The
 * config is read once per request.
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
  static boolean hopByHop(CharSequence name) {
    return switch (name.length()) {
      case 2 -> is(name, "te");
      case 7 -> is(name, "trailer") || is(name, "upgrade");
      case 10 -> is(name, "connection") || is(name, "keep-alive");
      case 16 -> is(name, "proxy-connection");
      case 17 -> is(name, "transfer-encoding");
      case 19 -> is(name, "proxy-authorization");
      default -> false;
    };
  }

  /** Whether a header name (a String, or the decoder's AsciiString) is {@code lower}, any case. */
  static boolean is(CharSequence name, String lower) {
    return AsciiString.contentEqualsIgnoreCase(name, lower);
  }

  /** Istio's cluster for traffic to destinations the mesh does not know (outbound ALLOW_ANY). */
  static final String PASSTHROUGH = "PassthroughCluster";

  private final Vertx vertx;
  private final Supplier<ProxyConfig> config;
  private final Function<HttpRequestView, String> routeTable;
  private final HttpClient http1;
  private final HttpClient http2;
  private final Map<Integer, HttpClient> idleHttp1 = new ConcurrentHashMap<>();
  private final Map<Integer, HttpClient> idleHttp2 = new ConcurrentHashMap<>();
  private final Http1Pool http1Pool;
  private final Map<Integer, Http1Pool> idleHttp1Pools = new ConcurrentHashMap<>();
  private final Map<HttpConnection, AtomicInteger> requestsPerConnection =
      new ConcurrentHashMap<>();
  private final NetClient tcp;
  private final ProxyStats stats;
  private volatile int listenPort;
  private volatile IstioMetrics metrics;
  private volatile Tracers tracers;
  private volatile SpanKind spanKind = SpanKind.CLIENT;
  private volatile boolean draining;
  private volatile MeshTls mtls;
  private final Map<String, HttpClient> tlsClients = new ConcurrentHashMap<>();
  private final Map<String, HttpClient> tlsClientsH2 = new ConcurrentHashMap<>();
  private final Map<String, NetClient> tlsTcpClients = new ConcurrentHashMap<>();
  private volatile InboundTls inbound;

  private HttpProxy(
      Vertx vertx,
      Supplier<ProxyConfig> config,
      Function<HttpRequestView, String> routeTable,
      ProxyStats stats) {
    this.vertx = vertx;
    this.config = config;
    this.routeTable = routeTable;
    this.stats = stats;
    this.http1 = newClient(http1Options());
    this.http1Pool = new Http1Pool(vertx, HTTP1_POOL, KEEP_ALIVE_SECONDS);
    this.http2 = newClient(http2Options());
    this.tcp = vertx.createNetClient();
  }

  /**
   * Resumes a paused downstream request unless it has been read to its end: Vert.x's HTTP/2 request
   * refuses a resume then (its HTTP/1.1 request ignores it).
   */
  static void resume(HttpServerRequest in) {
    if (!in.isEnded()) {
      in.resume();
    }
  }

  /** Connections an HTTP/1.1 client keeps to one upstream host. */
  static final int HTTP1_POOL = 64;

  /** How long an unused upstream connection stays open without a DestinationRule's idleTimeout. */
  static final int KEEP_ALIVE_SECONDS = HttpClientOptions.DEFAULT_KEEP_ALIVE_TIMEOUT;

  /** HTTP/2 connections a mesh client keeps to one upstream sidecar. */
  static final int MESH_H2_CONNECTIONS = 4;

  /** Streams an HTTP/2 client may have open on one downstream connection. */
  static final long MAX_CONCURRENT_STREAMS = 1024;

  /**
   * An upstream client whose plaintext connections write from pooled direct buffers and whose
   * HTTP/2 connections flush once per event-loop turn.
   */
  private HttpClient newClient(HttpClientOptions options) {
    return vertx.createHttpClient(options).connectionHandler(HttpProxy::onUpstreamConnection);
  }

  private static void onUpstreamConnection(HttpConnection c) {
    UpstreamBuffers.pooled(c);
    Http2Flushes.consolidate(c);
  }

  private static HttpClientOptions http1Options() {
    return new HttpClientOptions().setKeepAlive(true).setMaxPoolSize(HTTP1_POOL);
  }

  private static HttpClientOptions http2Options() {
    return new HttpClientOptions()
        .setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false)
        .setKeepAlive(true);
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
   * Reports Istio's standard metrics for the requests of this listener, and exchanges peer metadata
   * as the metrics' reporter does (a source adds its own to requests and reads the destination's
   * from answers; a destination the other way round). Call before {@link #listen}.
   */
  public HttpProxy reporting(IstioMetrics metrics) {
    this.metrics = metrics;
    return this;
  }

  /**
   * Traces the requests of this listener with {@code tracers}, as a client (sidecar outbound,
   * gateways) or server (sidecar inbound) span per request, when the connection manager's config
   * asks for tracing. Call before {@link #listen}.
   */
  public HttpProxy tracing(Tracers tracers, boolean server) {
    this.tracers = tracers;
    this.spanKind = server ? SpanKind.SERVER : SpanKind.CLIENT;
    return this;
  }

  IstioMetrics metrics() {
    return metrics;
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

  /**
   * Istio's mutual TLS with the workload's certificate: upstream, to the hosts a cluster's TLS
   * covers (see {@link ProxyConfig.ClusterRuntime#tlsTo}).
   */
  public HttpProxy securing(MeshTls tls) {
    this.mtls = tls;
    return this;
  }

  /**
   * {@link #securing(MeshTls)}, and downstream too: this listener serves {@code targetPort}, and
   * each connection it accepts is taken as that port's PeerAuthentication says (call before {@link
   * #listen}).
   */
  public HttpProxy securing(MeshTls tls, int targetPort) {
    this.mtls = tls;
    this.inbound = tls == null ? null : new InboundTls(tls, targetPort, config);
    return this;
  }

  /**
   * Closes the connections accepted under another PeerAuthentication mode than the config's now, as
   * Envoy drains the connections of a filter chain that changed: a policy applies to the
   * connections that carry requests, not only to new ones. Call after swapping in a config.
   */
  public void enforcePeerAuthentication() {
    InboundTls in = inbound;
    if (in != null) {
      in.enforce();
    }
  }

  /** Listens on {@code host:port} (0 picks a free port). */
  public Future<HttpServer> listen(String host, int port) {
    HttpServerOptions options =
        new HttpServerOptions()
            .setHttp2ClearTextEnabled(true)
            // Upgrades are relayed to the upstream, which negotiates any WebSocket extension:
            // no compression handshaker of the proxy's own in every HTTP/1.1 pipeline.
            .setPerMessageWebSocketCompressionSupported(false)
            .setPerFrameWebSocketCompressionSupported(false)
            .setInitialSettings(
                new io.vertx.core.http.Http2Settings()
                    .setMaxConcurrentStreams(MAX_CONCURRENT_STREAMS));
    InboundTls in = inbound;
    HttpServer server =
        in != null
            ? FrontedServers.http(vertx, options, in::front)
            : vertx.createHttpServer(options);
    return server
        .connectionHandler(Http2Flushes::consolidate)
        .requestHandler(this::handle)
        .listen(port, host)
        .onSuccess(s -> listenPort = s.actualPort());
  }

  private void handle(HttpServerRequest in) {
    stats.started();
    Finish finish = new Finish(this, in);
    in.response().endHandler(finish).closeHandler(finish);
    if (draining && in.version() != HttpVersion.HTTP_2) {
      in.response().putHeader("connection", "close");
    }
    ProxyConfig cfg = config.get();
    if (in.method() == HttpMethod.CONNECT) {
      connect(in, cfg);
      return;
    }
    if (in.version() != HttpVersion.HTTP_2 && hostRepeated(in.headers())) {
      // RFC 9112 section 3.2: a request with more than one Host header gets a 400; which of them
      // named the destination would be a guess (and one of them may name this proxy).
      finish.flag(ResponseFlag.DPE);
      in.response()
          .setStatusCode(400)
          .putHeader("connection", "close")
          .putHeader("content-type", "text/plain")
          .end("more than one Host header (DPE)\n")
          .onComplete(written -> in.connection().close());
      return;
    }
    if (!in.headers().contains(X_REQUEST_ID)) {
      // Envoy's connection manager: every request gets an id, kept by the hops after (the router
      // adds it to the upstream request).
      finish.requestId = RequestIds.next();
    }
    HttpRequestView view = new HttpRequestView(in);
    String tableName = routeTable.apply(view);
    RouteTable table = cfg.routes().get(tableName);
    Observers observers = cfg.observers().isEmpty() ? null : cfg.observers().get(tableName);
    if (table == null && cfg.clusters().containsKey(PASSTHROUGH)) {
      // A port no service uses: Istio's virtualOutbound passes it to its original destination.
      forward(in, view, cfg, null, PASSTHROUGH, HeaderOps.NONE, HeaderOps.NONE, finish);
      return;
    }
    var matched = table == null ? null : table.match(view).orElse(null);
    if (observers != null) {
      finish.observe(observers, matched == null ? null : matched.route(), view);
    }
    if (matched == null) {
      fail(in, ResponseFlag.NR, finish);
      return;
    }
    CompiledRoute route = matched.route();
    if (route.cors() != null && cors(in, route.cors(), finish)) {
      return;
    }
    Fault fault = route.fault();
    if (fault != null && fault.delays(ThreadLocalRandom.current())) {
      // Envoy's fault filter: the delay first, then the abort, then the router.
      finish.flag(ResponseFlag.DI);
      in.pause();
      finish.timer =
          vertx.setTimer(
              fault.delayMillis(),
              t -> {
                finish.timer = -1;
                if (!in.response().ended() && !finish.done) {
                  resume(in);
                  routeTo(in, view, cfg, route, finish);
                }
              });
      return;
    }
    routeTo(in, view, cfg, route, finish);
  }

  /** After the fault filter's delay: its abort, else the route's action. */
  private void routeTo(
      HttpServerRequest in,
      HttpRequestView view,
      ProxyConfig cfg,
      CompiledRoute route,
      Finish finish) {
    Fault fault = route.fault();
    if (fault != null && fault.aborts(ThreadLocalRandom.current())) {
      abort(in, fault, finish);
      return;
    }
    Action action = route.action();
    if (action instanceof Action.ToCluster c) {
      forward(in, view, cfg, route, c.cluster(), HeaderOps.NONE, HeaderOps.NONE, finish);
    } else if (action instanceof Action.Weighted w) {
      int i = w.pick(ThreadLocalRandom.current());
      forward(
          in,
          view,
          cfg,
          route,
          w.clusters().get(i),
          w.requestHeaders()[i],
          w.responseHeaders()[i],
          finish);
    } else if (action instanceof Action.Redirect r) {
      redirect(in, view, r, route, finish);
    } else if (action instanceof Action.Direct d) {
      var response = in.response().setStatusCode(d.status());
      route.responseHeaders().apply(response.headers());
      finish.corsHeaders(response.headers());
      if (!d.body().isEmpty() && !response.headers().contains("content-type")) {
        response.putHeader("content-type", "text/plain");
      }
      response.end(d.body());
    }
  }

  /**
   * Envoy's CORS filter: a preflight from an allowed origin is answered here; an actual request
   * from one gets the policy's headers on its response. Returns true when it answered.
   */
  private static boolean cors(HttpServerRequest in, Cors cors, Finish finish) {
    String origin = in.getHeader("origin");
    if (origin == null) {
      return false;
    }
    boolean preflight =
        Cors.isPreflight(in.method().name(), origin, in.getHeader("access-control-request-method"));
    if (!cors.allows(origin)) {
      if (preflight && !cors.forwardUnmatchedPreflights()) {
        in.response().setStatusCode(200).end();
        return true;
      }
      return false;
    }
    if (!preflight) {
      finish.cors = cors;
      finish.origin = origin;
      return false;
    }
    var h = in.response().setStatusCode(200).headers();
    h.set("access-control-allow-origin", origin);
    if (cors.allowCredentials()) {
      h.set("access-control-allow-credentials", "true");
    }
    if (!cors.allowMethods().isEmpty()) {
      h.set("access-control-allow-methods", cors.allowMethods());
    }
    if (!cors.allowHeaders().isEmpty()) {
      h.set("access-control-allow-headers", cors.allowHeaders());
    }
    if (!cors.maxAge().isEmpty()) {
      h.set("access-control-max-age", cors.maxAge());
    }
    in.response().end();
    return true;
  }

  /**
   * The fault filter's abort (flag FI): the HTTP status, or for a gRPC status a 200 whose trailers
   * carry it, as Envoy answers.
   */
  private void abort(HttpServerRequest in, Fault fault, Finish finish) {
    finish.flag(ResponseFlag.FI);
    var response = in.response().setStatusCode(fault.abortStatus());
    finish.corsHeaders(response.headers());
    if (fault.grpcStatus() != Fault.NO_GRPC) {
      response.putHeader("content-type", "application/grpc");
      response.setChunked(in.version() != HttpVersion.HTTP_2);
      finish.grpcStatus = String.valueOf(fault.grpcStatus());
      response.trailers().set("grpc-status", finish.grpcStatus);
      response.trailers().set("grpc-message", "fault filter abort");
      response.end();
      return;
    }
    response.putHeader("content-type", "text/plain").end("fault filter abort");
  }

  /**
   * To a host of the cluster through Envoy's router ({@link Exchange}): the route's retries,
   * mirrors, rewrites and header changes, the cluster's balancer, breakers and outlier detection. A
   * WebSocket upgrade is relayed instead. {@code route} is null for passthrough.
   */
  private void forward(
      HttpServerRequest in,
      HttpRequestView view,
      ProxyConfig cfg,
      CompiledRoute route,
      String clusterName,
      HeaderOps clusterRequestHeaders,
      HeaderOps clusterResponseHeaders,
      Finish finish) {
    finish.cluster = clusterName;
    ProxyConfig.ClusterRuntime cluster = cfg.clusters().get(clusterName);
    if (cluster == null) {
      fail(in, ResponseFlag.NC, finish);
      return;
    }
    HashPolicy hashPolicy = route == null ? null : route.hashPolicy();
    long hash =
        hashPolicy == null
            ? ThreadLocalRandom.current().nextLong()
            : hashPolicy
                .hash(view, in.remoteAddress() == null ? null : in.remoteAddress().hostAddress())
                .orElseGet(() -> ThreadLocalRandom.current().nextLong());
    if (cluster.cluster().getType() == Cluster.DiscoveryType.ORIGINAL_DST) {
      UpstreamHost target = originalDestination(view);
      if (target == null) {
        fail(in, ResponseFlag.UH, finish);
        return;
      }
      cluster = cluster.withOnly(target);
    }
    if (isWebSocket(in)) {
      UpstreamHost host = cluster.balancer().choose(hash);
      if (host == null) {
        fail(in, ResponseFlag.UH, finish);
        return;
      }
      webSocket(in, view, cluster, host);
      return;
    }
    // The route's timeout (Envoy's: the whole upstream exchange, retries included; 0 = none): 504
    // UT when it passes before the response has begun, a reset when it passes while streaming.
    Duration timeout = route == null ? null : route.timeout();
    if (timeout != null && !timeout.isZero()) {
      finish.timer = vertx.setTimer(timeout.toMillis(), t -> finish.timeout(in));
    }
    new Exchange(
            this,
            in,
            view,
            finish,
            cfg,
            route,
            cluster,
            clusterRequestHeaders,
            clusterResponseHeaders,
            hash)
        .start();
  }

  /** Whether requests to this cluster go upstream as HTTP/2 (its protocol, or the downstream's). */
  static boolean speaksHttp2(ProxyConfig.ClusterRuntime cluster, HttpServerRequest in) {
    return switch (cluster.protocol()) {
      case HTTP2 -> true;
      // Over mutual TLS the client is a sidecar, which multiplexes HTTP/1.1 requests over
      // HTTP/2 (its clusters of HTTP ports are HTTP/1.1): the app gets them as HTTP/1.1.
      case DOWNSTREAM -> in.version() == HttpVersion.HTTP_2 && !in.isSSL();
      case HTTP1 -> false;
    };
  }

  /**
   * The client for a protocol; with an idle timeout (a DestinationRule's {@code idleTimeout}), one
   * whose pooled connections close after that long unused.
   */
  HttpClient client(boolean h2, int idleTimeoutSeconds) {
    if (idleTimeoutSeconds <= 0) {
      return h2 ? http2 : http1;
    }
    return (h2 ? idleHttp2 : idleHttp1)
        .computeIfAbsent(
            idleTimeoutSeconds,
            s ->
                newClient(
                    (h2 ? http2Options() : http1Options())
                        .setKeepAliveTimeout(s)
                        .setHttp2KeepAliveTimeout(s)));
  }

  /**
   * An upstream request for an attempt: on a plaintext HTTP/1.1 connection from this event loop's
   * pool ({@link Http1Pool}), else from the client for the protocol and the cluster's TLS.
   */
  void request(
      boolean h2,
      ProxyConfig.ClusterRuntime cluster,
      UpstreamHost host,
      io.vertx.core.http.RequestOptions options,
      io.vertx.core.Handler<io.vertx.core.AsyncResult<UpstreamStream>> handler) {
    if (!h2
        && options.getServer() == null
        && plaintext(cluster, host)
        && pool(cluster.connections().idleTimeoutSeconds())
            .request(
                options.getMethod(),
                options.getURI(),
                host.address(),
                host.port(),
                options.getConnectTimeout(),
                handler)) {
      return;
    }
    client(h2, cluster, host)
        .request(options)
        .onComplete(ar -> handler.handle(ar.map(r -> new VertxUpstream(this, r))));
  }

  private Http1Pool pool(int idleTimeoutSeconds) {
    if (idleTimeoutSeconds <= 0) {
      return http1Pool;
    }
    return idleHttp1Pools.computeIfAbsent(
        idleTimeoutSeconds, s -> new Http1Pool(vertx, HTTP1_POOL, s));
  }

  /** Whether requests to {@code host} of {@code cluster} go without TLS. */
  private boolean plaintext(ProxyConfig.ClusterRuntime cluster, UpstreamHost host) {
    ProxyConfig.UpstreamTls upstreamTls = cluster.tls();
    MeshTls tls = mtls;
    return (upstreamTls == null || upstreamTls.origination() == null)
        && (tls == null || !cluster.tlsTo(host));
  }

  /**
   * The client for a request to {@code host} of {@code cluster}: TLS with the user's certificates
   * when the cluster originates it, over Istio's mutual TLS when the cluster's TLS covers the host
   * and this proxy has a certificate source, else {@link #client(boolean, int)}. Clusters with the
   * same TLS settings share clients.
   */
  HttpClient client(boolean h2, ProxyConfig.ClusterRuntime cluster, UpstreamHost host) {
    int idle = cluster.connections().idleTimeoutSeconds();
    if (plaintext(cluster, host)) {
      return client(h2, idle);
    }
    ProxyConfig.UpstreamTls upstreamTls = cluster.tls();
    Origination origination = upstreamTls.origination();
    MeshTls tls = mtls;
    // The common case (no idle timeout) looks up a key computed once per config.
    String key = idle <= 0 ? upstreamTls.clientKey() : upstreamTls.clientKey() + "|idle=" + idle;
    Map<String, HttpClient> clients = h2 ? tlsClientsH2 : tlsClients;
    HttpClient c = clients.get(key);
    if (c != null) {
      return c;
    }
    return clients.computeIfAbsent(
        key,
        k -> {
          // Between sidecars an HTTP/1.1 cluster's requests go over HTTP/2 when the server
          // agrees (ALPN, as Istio's h2UpgradePolicy UPGRADE): a few multiplexed connections
          // instead of one TLS handshake per concurrent request. The request is shaped for the
          // protocol each connection negotiated (Exchange.send).
          HttpClientOptions o =
              h2
                  ? http2Options()
                  : origination != null
                      ? http1Options()
                      : http2Options()
                          .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
                          .setMaxPoolSize(HTTP1_POOL)
                          .setHttp2MaxPoolSize(MESH_H2_CONNECTIONS);
          if (idle > 0) {
            o.setKeepAliveTimeout(idle).setHttp2KeepAliveTimeout(idle);
          }
          return newClient(
              origination != null
                  ? origination.client(o)
                  : tls.client(o, upstreamTls.identities()));
        });
  }

  /**
   * A DestinationRule's {@code maxRequestsPerConnection} on HTTP/1.1: the request that reaches the
   * limit on its connection asks for the connection to close after it.
   */
  void limitRequestsPerConnection(io.vertx.core.http.HttpClientRequest req, int limit) {
    if (limit <= 0) {
      return;
    }
    if (limit == 1) {
      req.putHeader("connection", "close");
      return;
    }
    HttpConnection connection = req.connection();
    AtomicInteger used =
        requestsPerConnection.computeIfAbsent(
            connection,
            c -> {
              c.closeHandler(v -> requestsPerConnection.remove(c));
              return new AtomicInteger();
            });
    if (used.incrementAndGet() >= limit) {
      req.putHeader("connection", "close");
    }
  }

  Vertx vertx() {
    return vertx;
  }

  ProxyStats stats() {
    return stats;
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
   * with its own status; one that cannot be reached is 503 UF.
   */
  private void webSocket(
      HttpServerRequest in,
      HttpRequestView view,
      ProxyConfig.ClusterRuntime cluster,
      UpstreamHost host) {
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
    connect(cluster, host, view.authority())
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
  static boolean isTeTrailers(CharSequence name, CharSequence value) {
    return is(name, "te") && is(AsciiString.trim(value), "trailers");
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
    ProxyConfig.ClusterRuntime cluster = tcpCluster == null ? null : cfg.clusters().get(tcpCluster);
    var observers =
        tcpCluster == null ? null : cfg.observers().get(TcpProxy.TCP_OBSERVERS + tcpCluster);
    UpstreamHost chosen = target;
    connect(cluster, target, authority)
        .onSuccess(
            up ->
                in.toNetSocket()
                    .onSuccess(
                        down -> {
                          stats.tcpConnection();
                          // A tunnel to a TCP service is a TCP connection of the mesh: Istio's TCP
                          // metrics, as its source.
                          IstioMetrics m = metrics;
                          IstioMetrics.TcpSeries series =
                              cluster != null && m != null
                                  ? m.tcp(
                                      Peer.UNKNOWN,
                                      MeshTls.peerIdentity(up),
                                      cluster.service(),
                                      "-",
                                      observers == null ? 0 : observers.droppedMetrics())
                                  : null;
                          TcpLogEntry log =
                              TcpLogEntry.of(
                                  observers == null ? null : observers.accessLogs(),
                                  tcpCluster,
                                  down);
                          if (log != null) {
                            log.upstream(chosen, up);
                          }
                          Pipes.relay(down, up, series, log);
                        })
                    .onFailure(e -> up.close()))
        .onFailure(e -> fail(in, ResponseFlag.UF));
  }

  /**
   * A TCP connection to {@code host} of {@code cluster}, with TLS when the cluster has it; TLS
   * origination sends the name it takes from {@code authority} as SNI.
   */
  private io.vertx.core.Future<io.vertx.core.net.NetSocket> connect(
      ProxyConfig.ClusterRuntime cluster, UpstreamHost host, String authority) {
    NetClient client = netClient(cluster, host);
    Origination origination =
        cluster == null || cluster.tls() == null ? null : cluster.tls().origination();
    String name = origination == null ? "" : origination.serverName(authority);
    return name.isEmpty()
        ? client.connect(host.port(), host.address())
        : client.connect(
            io.vertx.core.net.SocketAddress.inetSocketAddress(host.port(), host.address()), name);
  }

  /**
   * The TCP client for a tunnel to {@code host} of {@code cluster} (null for a tunnel back into
   * this listener or out of the mesh): TLS origination or Istio's mutual TLS as for {@link
   * #client(boolean, ProxyConfig.ClusterRuntime, UpstreamHost)}, one client per TLS settings.
   */
  private NetClient netClient(ProxyConfig.ClusterRuntime cluster, UpstreamHost host) {
    ProxyConfig.UpstreamTls upstreamTls = cluster == null ? null : cluster.tls();
    Origination origination = upstreamTls == null ? null : upstreamTls.origination();
    MeshTls tls = mtls;
    if (origination == null && (tls == null || cluster == null || !cluster.tlsTo(host))) {
      return tcp;
    }
    return tlsTcpClients.computeIfAbsent(
        upstreamTls.clientKey(),
        k -> {
          var o = new io.vertx.core.net.NetClientOptions();
          return vertx.createNetClient(
              origination != null
                  ? origination.client(o)
                  : tls.client(o, upstreamTls.identities()));
        });
  }

  /** Whether an HTTP/1.x request carries more than one Host header. */
  static boolean hostRepeated(MultiMap headers) {
    if (headers instanceof io.netty.handler.codec.http.HttpHeaders decoded) {
      var hosts = decoded.valueCharSequenceIterator(HttpHeaders.HOST);
      return hosts.hasNext() && hosts.next() != null && hosts.hasNext();
    }
    return headers.getAll(HttpHeaders.HOST).size() > 1;
  }

  /**
   * The host and port the request itself names, for ORIGINAL_DST clusters (passthrough); null when
   * it names none, or names this listener: passed through, such a request would come back to the
   * listener again and again (Istio's outbound listener sends its own port to the
   * BlackHoleCluster).
   */
  private UpstreamHost originalDestination(HttpRequestView view) {
    String host = view.host();
    int port = view.port();
    if (host.isEmpty() || port <= 0 || (port == listenPort && isLocal(host))) {
      return null;
    }
    return new UpstreamHost(host, port, 1);
  }

  /** Whether a host names this machine's loopback (or any local address, as a wildcard listens). */
  private static boolean isLocal(String host) {
    String h =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (h.equalsIgnoreCase("localhost") || h.startsWith("127.") || h.equals("::1")) {
      return true;
    }
    if (!NetUtil.isValidIpV4Address(h) && !NetUtil.isValidIpV6Address(h)) {
      return false;
    }
    try {
      InetAddress address = InetAddress.getByName(h);
      return address.isAnyLocalAddress()
          || address.isLoopbackAddress()
          || NetworkInterface.getByInetAddress(address) != null;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Envoy's redirect: the scheme, host, port and path the route names replace the request's; what
   * it does not name is kept (the port only while neither the host nor the scheme changes), and so
   * is the query unless the new path brings its own. A scheme's default port is left out.
   */
  private static void redirect(
      HttpServerRequest in,
      HttpRequestView view,
      Action.Redirect r,
      CompiledRoute route,
      Finish finish) {
    String scheme = r.scheme().isEmpty() ? view.scheme() : r.scheme();
    String host = r.host().isEmpty() ? view.host() : r.host();
    String port = "";
    if (r.port() > 0) {
      port = ":" + r.port();
    } else if (r.host().isEmpty() && r.scheme().isEmpty()) {
      port = view.portSuffix();
    }
    if ((scheme.equals("http") && port.equals(":80"))
        || (scheme.equals("https") && port.equals(":443"))) {
      port = "";
    }
    String path = view.path();
    if (!r.path().isEmpty()) {
      int q = path.indexOf('?');
      path = r.path().indexOf('?') >= 0 || q < 0 ? r.path() : r.path() + path.substring(q);
    }
    var response =
        in.response()
            .setStatusCode(r.status())
            .putHeader("location", scheme + "://" + host + port + path);
    route.responseHeaders().apply(response.headers());
    finish.corsHeaders(response.headers());
    response.end();
  }

  /**
   * A request's end, handled once whether its response ended or its connection went first: counts
   * it, cancels its timer (the route's timeout or the fault's delay), and stops its upstream
   * exchange when the client no longer wants the answer.
   */
  static final CharSequence X_REQUEST_ID =
      io.vertx.core.http.HttpHeaders.createOptimized("x-request-id");

  static final class Finish implements io.vertx.core.Handler<Void>, AccessLog.Entry {
    private final HttpProxy proxy;
    private final HttpServerRequest request;
    private final io.vertx.core.http.HttpServerResponse response;
    private final long start = System.nanoTime();

    /** When the request finished, read once for its metrics and its logs (0: not yet). */
    private long end;

    boolean done;

    /** Envoy's response flags of this request ({@code -} for none), for the Istio metrics. */
    String flags = "-";

    /** The other side, the destination service and the gRPC status, for the Istio metrics. */
    Peer peer = Peer.UNKNOWN;

    String service;
    String grpcStatus;

    long timer = -1;
    Exchange exchange;

    /** The cluster and host the request went to, and the upstream connection (access logs). */
    String cluster;

    UpstreamHost upstreamHost;

    /** The attempt whose answer this is (its connection, its local address), or null. */
    UpstreamStream upstream;

    /** This request's tracing and access logs (null: none), its route, span and start. */
    private Observers observers;

    private CompiledRoute route;

    /** The request as routing read it (its authority and origin-form path), for the logs. */
    private HttpRequestView view;

    /** The id this proxy gave the request (null: it came with one). */
    String requestId;

    /** This hop's trace context, which the router sends upstream (null: no tracing). */
    Tracers.Trace trace;

    private long startMillis;

    /** The CORS policy whose headers the response gets, for this origin. */
    Cors cors;

    String origin;

    Finish(HttpProxy proxy, HttpServerRequest request) {
      this.proxy = proxy;
      this.request = request;
      this.response = request.response();
    }

    /** Counts the flag and keeps it for this request's metrics. */
    void flag(ResponseFlag f) {
      proxy.stats.flag(f);
      flags = flags.equals("-") ? f.name() : flags + "," + f.name();
    }

    @Override
    public void handle(Void v) {
      if (done) {
        return;
      }
      done = true;
      int status = response.ended() ? response.getStatusCode() : 0;
      proxy.stats.finished(status);
      IstioMetrics metrics = proxy.metrics;
      int dropped = observers == null ? 0 : observers.droppedMetrics();
      boolean recorded = metrics != null && (dropped & IstioMetrics.HTTP) != IstioMetrics.HTTP;
      if (recorded || observers != null) {
        end = System.nanoTime();
      }
      if (recorded) {
        // gRPC calls are POSTs (its spec's only method): other requests skip the lookup.
        String contentType =
            request.method() == io.vertx.core.http.HttpMethod.POST
                ? request.getHeader(io.vertx.core.http.HttpHeaders.CONTENT_TYPE)
                : null;
        boolean grpc = contentType != null && contentType.startsWith("application/grpc");
        metrics.record(
            peer,
            // The peer's identity on mutual TLS: the caller's on the inbound side, the answering
            // workload's on the outbound side.
            MeshTls.peerIdentity(
                metrics.reporter() == IstioMetrics.Reporter.DESTINATION
                    ? request.connection()
                    : upstream == null ? null : upstream.connection()),
            service,
            grpc,
            status,
            grpc ? grpcStatus : null,
            flags,
            (end - start) / 1e6,
            request.bytesRead(),
            response.bytesWritten(),
            dropped);
      }
      if (observers != null) {
        if (trace != null && trace.span() != null) {
          endSpan(status);
        }
        for (AccessLog log : observers.accessLogs()) {
          log.log(this);
        }
      }
      if (timer >= 0) {
        proxy.vertx.cancelTimer(timer);
      }
      if (!response.ended() && exchange != null) {
        exchange.cancel();
      }
    }

    /** Starts this request's span (its context goes upstream) and remembers it for the logs. */
    void observe(Observers o, CompiledRoute route, HttpRequestView view) {
      this.observers = o;
      this.route = route;
      this.view = view;
      this.startMillis = io.qmesh.proxy.CoarseClock.INSTANCE.wallMillisAt(start);
      Tracers tracers = proxy.tracers;
      if (o.tracing() != null && tracers != null) {
        trace =
            tracers.start(
                request.headers(),
                o.tracing(),
                proxy.spanKind,
                route != null ? route.operation() : null,
                view.authority(),
                view.path());
      }
    }

    /** Istio's span tags, then the connection manager's custom tags; an error when 5xx. */
    private void endSpan(int status) {
      Span s = trace.span();
      s.setAttribute(
          "http.url", request.scheme() + "://" + request.authority() + originForm(request.uri()));
      s.setAttribute("http.method", request.method().name());
      s.setAttribute("http.protocol", protocol());
      s.setAttribute("http.status_code", String.valueOf(status));
      s.setAttribute("response_flags", flags);
      s.setAttribute("request_size", String.valueOf(request.bytesRead()));
      s.setAttribute("response_size", String.valueOf(response.bytesWritten()));
      s.setAttribute("upstream_cluster", cluster == null ? "-" : cluster);
      s.setAttribute("upstream_cluster.name", cluster == null ? "-" : cluster);
      s.setAttribute("downstream_cluster", "-");
      Tracers.tag(s, "guid:x-request-id", requestHeader("x-request-id"));
      Tracers.tag(s, "user_agent", request.getHeader("user-agent"));
      Tracers.tag(s, "peer.address", AccessLog.Entry.address(downstreamRemoteAddress()));
      for (var tag : observers.tracing().tags()) {
        switch (tag.getTypeCase()) {
          case LITERAL -> Tracers.tag(s, tag.getTag(), tag.getLiteral().getValue());
          case REQUEST_HEADER -> {
            String v = request.getHeader(tag.getRequestHeader().getName());
            Tracers.tag(s, tag.getTag(), v != null ? v : tag.getRequestHeader().getDefaultValue());
          }
          case ENVIRONMENT -> {
            String v = System.getenv(tag.getEnvironment().getName());
            Tracers.tag(s, tag.getTag(), v != null ? v : tag.getEnvironment().getDefaultValue());
          }
          default -> {}
        }
      }
      if (status == 0 || status >= 500) {
        s.setAttribute("error", "true");
        s.setStatus(StatusCode.ERROR);
      }
      s.end();
    }

    /** A request target in origin form: the absolute form a laptop app sends, without its host. */
    private static String originForm(String uri) {
      if (!uri.startsWith("http://") && !uri.startsWith("https://")) {
        return uri;
      }
      int slash = uri.indexOf('/', uri.indexOf("//") + 2);
      return slash < 0 ? "/" : uri.substring(slash);
    }

    // The access log's view of the request (AccessLog.Entry).

    @Override
    public long startMillis() {
      return startMillis;
    }

    @Override
    public String requestHeader(CharSequence name) {
      if (name.length() > 0 && name.charAt(0) == ':') {
        switch (name.toString()) {
          case ":method":
            return request.method().name();
          case ":path":
            return view != null ? view.path() : originForm(request.uri());
          case ":authority":
            return view != null ? view.authority() : request.host();
          case ":scheme":
            return request.scheme();
          default:
            return null;
        }
      }
      if (requestId != null && AsciiString.contentEquals(name, X_REQUEST_ID)) {
        return requestId;
      }
      return request.getHeader(name);
    }

    @Override
    public String responseHeader(CharSequence name) {
      return response.headers().get(name);
    }

    @Override
    public String protocol() {
      return switch (request.version()) {
        case HTTP_1_0 -> "HTTP/1.0";
        case HTTP_1_1 -> "HTTP/1.1";
        case HTTP_2 -> "HTTP/2";
      };
    }

    @Override
    public int status() {
      return response.ended() ? response.getStatusCode() : 0;
    }

    @Override
    public String flags() {
      return flags;
    }

    @Override
    public String details() {
      if (flags.equals("-")) {
        return upstreamHost != null ? "via_upstream" : response.ended() ? "direct_response" : "-";
      }
      String first = flags.split(",")[0];
      return switch (first) {
        case "NR" -> "route_not_found";
        case "NC" -> "cluster_not_found";
        case "UH" -> "no_healthy_upstream";
        case "UF" -> "upstream_reset_before_response_started{connection_failure}";
        case "UO" -> "overflow";
        case "UT" -> "response_timeout";
        case "URX" -> "via_upstream";
        case "FI" -> "fault_filter_abort";
        case "DI" -> upstreamHost != null ? "via_upstream" : "-";
        default -> first;
      };
    }

    @Override
    public long bytesReceived() {
      return request.bytesRead();
    }

    @Override
    public long bytesSent() {
      return response.bytesWritten();
    }

    @Override
    public long durationMillis() {
      return ((end != 0 ? end : System.nanoTime()) - start) / 1_000_000;
    }

    @Override
    public String upstreamHost() {
      return upstreamHost == null ? null : upstreamHost.hostPort();
    }

    @Override
    public String upstreamCluster() {
      return cluster;
    }

    @Override
    public SocketAddress upstreamLocalAddress() {
      return upstream == null ? null : upstream.localAddress();
    }

    @Override
    public SocketAddress downstreamLocalAddress() {
      return request.localAddress();
    }

    @Override
    public SocketAddress downstreamRemoteAddress() {
      return request.remoteAddress();
    }

    @Override
    public String routeName() {
      return route == null || route.name().isEmpty() ? null : route.name();
    }

    /** The route's timeout passed: 504 UT, or a reset when the response has begun. */
    void timeout(HttpServerRequest in) {
      timer = -1;
      if (response.ended()) {
        return;
      }
      if (exchange != null) {
        exchange.cancel();
      }
      proxy.fail(in, ResponseFlag.UT, this);
    }

    /** Adds the CORS response headers when an allowed origin asked. */
    void corsHeaders(io.vertx.core.MultiMap headers) {
      if (cors == null) {
        return;
      }
      headers.set("access-control-allow-origin", origin);
      if (cors.allowCredentials()) {
        headers.set("access-control-allow-credentials", "true");
      }
      if (!cors.exposeHeaders().isEmpty()) {
        headers.set("access-control-expose-headers", cors.exposeHeaders());
      }
    }
  }

  void fail(HttpServerRequest in, ResponseFlag flag) {
    fail(in, flag, null);
  }

  /** Answers with the flag's status and message; {@code finish}, when given, records the flag. */
  void fail(HttpServerRequest in, ResponseFlag flag, Finish finish) {
    if (finish != null) {
      finish.flag(flag);
    } else {
      stats.flag(flag);
    }
    if (in.response().ended() || in.response().headWritten()) {
      in.response().reset();
      return;
    }
    resume(in);
    in.response()
        .setStatusCode(flag.status)
        .putHeader("content-type", "text/plain")
        .end(flag.message + " (" + flag.name() + ")\n");
  }

  public Future<Void> close() {
    http1Pool.close();
    idleHttp1Pools.values().forEach(Http1Pool::close);
    List<Future<Void>> closing =
        new ArrayList<>(List.of(http1.close(), http2.close(), tcp.close()));
    idleHttp1.values().forEach(c -> closing.add(c.close()));
    idleHttp2.values().forEach(c -> closing.add(c.close()));
    return Future.all(closing).mapEmpty();
  }
}
