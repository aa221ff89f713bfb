package io.qmesh.proxy.listener;

import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.cluster.UpstreamCluster;
import io.qmesh.proxy.cluster.UpstreamHost;
import io.qmesh.proxy.route.CompiledRoute;
import io.qmesh.proxy.route.HeaderOps;
import io.qmesh.proxy.route.Mirror;
import io.qmesh.proxy.route.Retry;
import io.qmesh.proxy.telemetry.IstioMetrics;
import io.qmesh.proxy.telemetry.Peer;
import io.vertx.core.AsyncResult;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.net.HostAndPort;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One downstream request through Envoy's router: the upstream request's target is prepared once
 * (the rewrite, the authority), and each attempt writes its headers straight into its request
 * (without hop-by-hop ones, with the route's and the weighted cluster's header changes); each
 * attempt picks a host (avoiding hosts already tried when the retry policy says so), passes the
 * cluster's circuit breaker, sends, and either relays the answer or, when the retry policy retries
 * it and a retry is still possible, backs off and tries again. Everything runs on the downstream
 * request's event loop.
 *
 * <p>A retry is possible while the response has not begun downstream, attempts remain, the
 * cluster's retry breaker admits it and the request body can be replayed: the body is kept (as the
 * chunks received, not copied) up to Envoy's default buffer limit while it streams to the first
 * attempt; a request whose body outgrows it is not retried. The answer of the last attempt is the
 * one relayed, flagged {@code URX} when it is one the policy would have retried. Mirrors get a copy
 * of the request once its body is complete, with {@code -shadow} added to the host, and their
 * answers are dropped.
 */
final class Exchange implements UpstreamStream.Answer {

  /** The gRPC status header's name, hashed once. */
  static final CharSequence GRPC_STATUS = HttpHeaders.createOptimized("grpc-status");

  /** Envoy's default per-connection buffer limit, the most of a body kept for replay. */
  static final int BUFFER_LIMIT = 1 << 20;

  private final HttpProxy proxy;
  private final HttpServerRequest in;
  private final HttpServerResponse out;
  private final HttpProxy.Finish finish;
  private final CompiledRoute route;
  private final ProxyConfig config;
  private final ProxyConfig.ClusterRuntime cluster;
  private final UpstreamCluster upstream;
  private final HeaderOps clusterResponseHeaders;
  private final long hash;
  private final Retry retry;
  private final boolean h2;
  private final boolean http1;
  private final RequestOptions options;
  private final HostAndPort authority;
  private final String upstreamAuthority;

  /** The name TLS origination sends as SNI, or null (mesh TLS, plaintext, or no SNI). */
  private final String serverName;

  private final List<Mirror> mirrors;
  private boolean chunked;

  /**
   * An HTTP/1.1 request made from an HTTP/2 one without a length: chunked once a body shows up,
   * else sent without a body (HTTP/2 does not say up front whether one follows).
   */
  private boolean chunkedIfBody;

  private final IstioMetrics metrics;
  private final HeaderOps clusterRequestHeaders;

  /** Whether upstream requests carry this proxy's peer metadata (a source, not to passthrough). */
  private boolean sendsPeer;

  /** Whether the downstream request's peer metadata is taken off (a destination). */
  private boolean takesPeer;

  /** The body so far, while it can still be replayed; null until a chunk comes, or when lost. */
  private List<Buffer> body;

  private int bodyBytes;
  private boolean bodyLost;
  private boolean requestEnded;

  /** Attempts started; {@code seq} changes whenever the current attempt is given up. */
  private int attempts;

  private int seq;
  private UpstreamHost host;
  private UpstreamHost[] tried;
  private UpstreamStream current;
  private boolean currentEnded;
  private boolean retryAdmitted;

  /** Whether the current attempt holds its host's and the breaker's slots. */
  private boolean holding;

  /** The stream whose answer is being relayed, and whether its relay has ended (or failed). */
  private UpstreamStream answering;

  private boolean relayOver;

  /**
   * The bytes of the answer's body still to come, when an HTTP/1.1 answer declared its length (it
   * can have no trailers then); else -1. The chunk that completes the body ends the downstream
   * response with it: one write, and on HTTP/2 one DATA frame with END_STREAM instead of a second
   * frame, a second flush and a second system call.
   */
  private long bodyLeft = -1;

  /** Whether the downstream response ended with the answer's last chunk (before its end event). */
  private boolean endedWithBody;

  private long perTryTimer = -1;
  private long backoffTimer = -1;
  private boolean done;

  Exchange(
      HttpProxy proxy,
      HttpServerRequest in,
      HttpRequestView view,
      HttpProxy.Finish finish,
      ProxyConfig config,
      CompiledRoute route,
      ProxyConfig.ClusterRuntime cluster,
      HeaderOps clusterRequestHeaders,
      HeaderOps clusterResponseHeaders,
      long hash) {
    this.proxy = proxy;
    this.in = in;
    this.out = in.response();
    this.finish = finish;
    this.config = config;
    this.route = route;
    this.cluster = cluster;
    this.upstream = cluster.upstream();
    this.clusterResponseHeaders = clusterResponseHeaders;
    this.hash = hash;
    this.retry = route == null ? null : route.retry();
    this.http1 = !HttpProxy.speaksHttp2(cluster, in);
    this.h2 = !http1;
    this.mirrors = route == null ? List.of() : chosenMirrors(route.mirrors());
    String path = view.path();
    String host = view.authority();
    if (route != null && route.rewrite() != null) {
      path = route.rewrite().path(path);
      if (route.rewrite().host() != null) {
        host = route.rewrite().host();
      }
    }
    this.clusterRequestHeaders = clusterRequestHeaders;
    this.metrics = proxy.metrics();
    if (metrics != null) {
      exchangePeers(view);
    }
    this.upstreamAuthority = host;
    // Parsed up front only for an HTTP/2 cluster, whose requests drop the host header; an
    // HTTP/1.1 request that finds an HTTP/2 connection (between sidecars) parses it in send().
    this.authority = http1 ? null : HostAndPort.parseAuthority(host, -1);
    var origination = cluster.tls() == null ? null : cluster.tls().origination();
    String name = origination == null ? "" : origination.serverName(host);
    this.serverName = name.isEmpty() ? null : name;
    // The headers are written straight into each attempt's request (upstreamHeaders), not kept
    // here: Vert.x would copy a map given in the options once more.
    this.options =
        new RequestOptions()
            .setMethod(in.method())
            .setURI(path)
            .setConnectTimeout(cluster.connections().connectTimeoutMillis());
    boolean replayable = (retry != null && retry.numRetries() > 0) || !mirrors.isEmpty();
    this.bodyLost = !replayable;
  }

  /**
   * Istio's metadata exchange on the request, and the destination service the metrics name: a
   * source sends its metadata (not to passthrough destinations, outside the mesh) and names the
   * cluster's service; a destination takes the source's metadata off the request and names the
   * service the request's host is (a short name within its own namespace).
   */
  private void exchangePeers(HttpRequestView view) {
    if (metrics.reporter() == IstioMetrics.Reporter.SOURCE) {
      finish.service = cluster.service();
      sendsPeer =
          cluster.cluster().getType()
              != io.envoyproxy.envoy.config.cluster.v3.Cluster.DiscoveryType.ORIGINAL_DST;
    } else {
      finish.peer = Peer.decode(in.headers().get(Peer.HEADER_NAME));
      takesPeer = true;
      String host = view.host();
      finish.service =
          host.isEmpty()
              ? null
              : host.indexOf('.') < 0
                  ? host + "." + metrics.self().namespace() + ".svc.cluster.local"
                  : host;
    }
  }

  /**
   * The upstream request's headers, into {@code headers}: the downstream request's without
   * hop-by-hop ones (but {@code te: trailers}, which gRPC needs) and without a source's peer
   * metadata at a destination; the request id and trace context; this proxy's peer metadata at a
   * source; the route's and the weighted cluster's header changes. Each attempt writes them into
   * its own request, and a mirror into its copy.
   */
  private void upstreamHeaders(MultiMap headers) {
    MultiMap from = in.headers();
    if (from instanceof io.netty.handler.codec.http.HttpHeaders decoded) {
      // HTTP/1.1: the decoder's names and values as they are, not copied into Strings.
      var it = decoded.iteratorCharSequence();
      while (it.hasNext()) {
        var h = it.next();
        copyHeader(headers, h.getKey(), h.getValue());
      }
    } else {
      for (var h : from) {
        copyHeader(headers, h.getKey(), h.getValue());
      }
    }
    if (finish.requestId != null) {
      headers.set(HttpProxy.X_REQUEST_ID, finish.requestId);
    }
    if (finish.trace != null) {
      finish.trace.inject(headers);
    }
    if (sendsPeer) {
      headers.set(Peer.HEADER_NAME, metrics.selfHeader());
      headers.set(Peer.ID_HEADER_NAME, metrics.nodeId());
    }
    if (route != null) {
      route.requestHeaders().apply(headers);
    }
    clusterRequestHeaders.apply(headers);
  }

  private void copyHeader(MultiMap headers, CharSequence name, CharSequence value) {
    boolean keep =
        HttpProxy.hopByHop(name)
            ? HttpProxy.isTeTrailers(name, value)
            : !(takesPeer && Peer.isPeerHeader(name));
    if (keep) {
      headers.add(name, value);
    }
  }

  private static List<Mirror> chosenMirrors(List<Mirror> all) {
    if (all.isEmpty()) {
      return all;
    }
    List<Mirror> chosen = new ArrayList<>(all.size());
    for (Mirror m : all) {
      if (m.applies(ThreadLocalRandom.current())) {
        chosen.add(m);
      }
    }
    return chosen;
  }

  /** Starts the first attempt. */
  void start() {
    finish.exchange = this;
    in.pause();
    in.handler(this::requestChunk);
    in.endHandler(v -> requestEnd());
    attempt();
  }

  private void requestChunk(Buffer data) {
    bodyBytes += data.length();
    if (!bodyLost) {
      if (body == null) {
        body = new ArrayList<>(2);
      }
      if (bodyBytes > BUFFER_LIMIT) {
        body = null;
        bodyLost = true;
      } else {
        body.add(data);
      }
    }
    UpstreamStream req = current;
    if (req != null) {
      if (chunkedIfBody && !req.chunked()) {
        // Nothing is written before the first chunk: the head still can say chunked.
        req.chunked(true);
      }
      req.write(data);
      if (req.writeQueueFull()) {
        in.pause();
        req.drainHandler(() -> HttpProxy.resume(in));
      }
    } else {
      // Between attempts: the chunk is kept above, or the body is lost for a retry.
      in.pause();
    }
  }

  private void requestEnd() {
    requestEnded = true;
    if (current != null && !currentEnded) {
      currentEnded = true;
      current.end();
    }
    if (!mirrors.isEmpty() && !bodyLost) {
      Buffer whole = Buffer.buffer(bodyBytes);
      if (body != null) {
        body.forEach(whole::appendBuffer);
      }
      for (Mirror m : mirrors) {
        shadow(m, whole);
      }
    }
  }

  private void attempt() {
    backoffTimer = -1;
    if (done) {
      return;
    }
    attempts++;
    int attemptSeq = ++seq;
    host = pickHost();
    finish.upstreamHost = host;
    if (host == null) {
      giveUp(ResponseFlag.UH);
      return;
    }
    if (!upstream.tryRequest(http1)) {
      giveUp(ResponseFlag.UO);
      return;
    }
    host.started();
    holding = true;
    if (serverName != null) {
      // TLS origination: the connection goes to the host, SNI and verification use the name.
      options
          .setServer(io.vertx.core.net.SocketAddress.inetSocketAddress(host.port(), host.address()))
          .setHost(serverName)
          .setPort(host.port());
    } else {
      options.setHost(host.address()).setPort(host.port());
    }
    if (retry != null && !retry.perTryTimeout().isZero()) {
      perTryTimer =
          proxy.vertx().setTimer(retry.perTryTimeout().toMillis(), t -> perTryTimeout(attemptSeq));
    }
    proxy.request(
        h2,
        cluster,
        host,
        options,
        ar -> {
          if (attemptSeq != seq || done) {
            if (ar.succeeded()) {
              ar.result().reset();
            }
            return;
          }
          if (ar.failed()) {
            attemptFailed(Retry.Failure.CONNECT_FAILURE);
            return;
          }
          send(ar.result());
        });
  }

  private void send(UpstreamStream req) {
    current = req;
    currentEnded = false;
    finish.upstream = req;
    MultiMap headers = req.headers();
    upstreamHeaders(headers);
    if (http1 || authority == null) {
      headers.set(HttpHeaders.HOST, upstreamAuthority);
    }
    // A body of unknown length goes on chunked (Vert.x asks it of HTTP/2 streams too).
    boolean unknownLength = !headers.contains(HttpHeaders.CONTENT_LENGTH);
    chunked = unknownLength && (!http1 || in.headers().contains(HttpHeaders.TRANSFER_ENCODING));
    chunkedIfBody = unknownLength && !chunked && in.version() == HttpVersion.HTTP_2;
    boolean overHttp2 = req.overHttp2();
    HostAndPort a =
        !overHttp2 ? null : http1 ? HostAndPort.parseAuthority(upstreamAuthority, -1) : authority;
    if (a != null) {
      // HTTP/2 carries it as :authority, which must agree with any host header. An HTTP/1.1
      // request on a connection that negotiated HTTP/2 (between sidecars) drops its host header.
      req.authority(a);
      headers.remove(HttpHeaders.HOST);
    }
    req.chunked(chunked || (chunkedIfBody && bodyBytes > 0));
    if (!overHttp2) {
      req.limitRequestsPerConnection(cluster.connections().maxRequestsPerConnection());
    }
    req.answer(this);
    if (body != null) {
      for (Buffer b : body) {
        req.write(b);
      }
    }
    if (requestEnded) {
      currentEnded = true;
      req.end();
    } else {
      if (body == null && expectsContinue()) {
        // The upstream's 100 Continue is what the client waits for before it sends the body.
        req.sendHead();
      }
      in.resume();
    }
  }

  private UpstreamHost pickHost() {
    UpstreamHost h;
    if (attempts > 1 && retry != null && retry.otherHost() && tried != null) {
      h =
          upstream
              .balancer()
              .chooseOther(
                  ThreadLocalRandom.current().nextLong(), tried, retry.hostSelectionAttempts());
    } else {
      h = upstream.choose(attempts == 1 ? hash : ThreadLocalRandom.current().nextLong());
    }
    if (h != null && retry != null && retry.numRetries() > 0) {
      if (tried == null) {
        tried = new UpstreamHost[retry.numRetries() + 1];
      }
      if (attempts - 1 < tried.length) {
        tried[attempts - 1] = h;
      }
    }
    return h;
  }

  @Override
  public void continued() {
    // The client may wait for it before it sends its body (Envoy's proxy_100_continue).
    if (!out.headWritten() && expectsContinue()) {
      out.writeContinue();
    }
  }

  private boolean expectsContinue() {
    String expect = in.getHeader(HttpHeaders.EXPECT);
    return expect != null && expect.equalsIgnoreCase("100-continue");
  }

  @Override
  public void head(UpstreamStream.Head resp) {
    cancelPerTry();
    int status = resp.status();
    upstream.answered(host, status);
    if (retry != null && retry.retriable(status, resp.header(GRPC_STATUS))) {
      if (canRetry()) {
        // This answer is dropped: read to its end when the request was sent whole (the
        // connection is reused), else the stream is reset.
        if (!currentEnded) {
          current.reset();
        } else {
          current.letGo();
        }
        endAttempt();
        retryLater();
        return;
      }
      if (attempts > 1) {
        finish.flag(ResponseFlag.URX);
      }
    }
    relay(resp);
  }

  @Override
  public void chunk(Buffer data) {
    relayChunk(data);
  }

  @Override
  public void end(MultiMap trailers) {
    relayEnd(trailers);
  }

  @Override
  public void failed(Throwable cause) {
    if (answering != null) {
      relayFailed();
      return;
    }
    cancelPerTry();
    attemptFailed(
        cause instanceof StreamResetException r && r.getCode() == 7
            ? Retry.Failure.REFUSED_STREAM
            : Retry.Failure.RESET);
  }

  /** The attempt got no answer; retried when the policy and the state allow, else answered. */
  private void attemptFailed(Retry.Failure failure) {
    cancelPerTry();
    if (failure != Retry.Failure.PER_TRY_TIMEOUT) {
      upstream.unreachable(host);
    } else if (current != null) {
      // As Envoy: a try that timed out counts against its host only once it had a connection to
      // it; one still waiting for a connection in the pool says nothing of the host.
      upstream.unreachable(host);
      current.reset();
    }
    endAttempt();
    if (retry != null && retry.retriable(failure)) {
      if (canRetry()) {
        retryLater();
        return;
      }
      if (attempts > 1) {
        finish.flag(ResponseFlag.URX);
      }
    }
    giveUp(
        switch (failure) {
          case PER_TRY_TIMEOUT -> ResponseFlag.UT;
          case CONNECT_FAILURE -> ResponseFlag.UF;
          case RESET, REFUSED_STREAM -> ResponseFlag.UC;
        });
  }

  private void perTryTimeout(int attemptSeq) {
    perTryTimer = -1;
    if (attemptSeq == seq && !done) {
      seq++;
      attemptFailed(Retry.Failure.PER_TRY_TIMEOUT);
    }
  }

  private boolean canRetry() {
    // A body that was sent but not kept cannot be replayed.
    if (attempts > retry.numRetries() || out.headWritten() || (bodyLost && bodyBytes > 0)) {
      return false;
    }
    if (!upstream.tryRetry()) {
      proxy.stats().retryOverflow();
      return false;
    }
    retryAdmitted = true;
    return true;
  }

  private void retryLater() {
    if (!requestEnded) {
      // Vert.x refuses to pause a request it has read to the end.
      in.pause();
    }
    proxy.stats().retry();
    long wait = retry.backoffMillis(attempts, ThreadLocalRandom.current());
    if (wait <= 0) {
      attempt();
    } else {
      backoffTimer = proxy.vertx().setTimer(wait, t -> attempt());
    }
  }

  /** The attempt's host, request and retry slots are released. */
  private void endAttempt() {
    seq++;
    if (holding) {
      holding = false;
      host.finished();
      upstream.requestDone();
    }
    if (retryAdmitted) {
      upstream.retryDone();
      retryAdmitted = false;
    }
    current = null;
  }

  private void cancelPerTry() {
    if (perTryTimer >= 0) {
      proxy.vertx().cancelTimer(perTryTimer);
      perTryTimer = -1;
    }
  }

  /** No (more) attempts: answers with the flag's status, unless the response has begun. */
  private void giveUp(ResponseFlag flag) {
    done = true;
    proxy.fail(in, flag, finish);
  }

  /** Stops everything: the route's timeout passed or the client went away. */
  void cancel() {
    done = true;
    cancelPerTry();
    if (backoffTimer >= 0) {
      proxy.vertx().cancelTimer(backoffTimer);
      backoffTimer = -1;
    }
    if (holding && current != null) {
      current.reset();
    }
    endAttempt();
  }

  private void relay(UpstreamStream.Head resp) {
    done = true;
    answering = current;
    if (out.ended()) {
      current.reset();
      endAttempt();
      return;
    }
    int status = resp.status();
    out.setStatusCode(status);
    String reason = resp.reason();
    if (reason != null
        && !io.netty.handler.codec.http.HttpResponseStatus.valueOf(status)
            .reasonPhrase()
            .contentEquals(reason)) {
      // A reason of its own (the standard one is Netty's constant, not a new status per answer).
      out.setStatusMessage(reason);
    }
    String length = resp.header(HttpHeaders.CONTENT_LENGTH);
    if (length == null) {
      // Streamed upstream (chunked, or HTTP/2 without a length): stream it on.
      out.setChunked(true);
    } else if (!resp.http2()) {
      bodyLeft = declaredLength(length);
    }
    // A source takes the destination's metadata off the answer; a destination adds its own.
    boolean takesPeerBack = metrics != null && metrics.reporter() == IstioMetrics.Reporter.SOURCE;
    if (takesPeerBack) {
      finish.peer = Peer.decode(resp.header(Peer.HEADER_NAME));
    }
    MultiMap headers = out.headers();
    for (var it = resp.headerEntries(); it.hasNext(); ) {
      var e = it.next();
      CharSequence name = e.getKey();
      if (!HttpProxy.hopByHop(name) && !(takesPeerBack && Peer.isPeerHeader(name))) {
        headers.add(name, e.getValue());
      }
    }
    if (metrics != null) {
      if (!takesPeerBack) {
        headers.set(Peer.HEADER_NAME, metrics.selfHeader());
        headers.set(Peer.ID_HEADER_NAME, metrics.nodeId());
      }
      finish.grpcStatus = resp.header(GRPC_STATUS);
    }
    clusterResponseHeaders.apply(headers);
    if (route != null) {
      route.responseHeaders().apply(headers);
    }
    finish.corsHeaders(headers);
    // The body follows chunk by chunk (chunk, end, failed), relayed with writes that make no
    // promise, pausing the upstream while the client is slow.
  }

  /** A content length as a number of bytes, or -1 when it is none (the decoder checked it). */
  private static long declaredLength(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private void relayChunk(Buffer data) {
    if (bodyLeft >= 0 && (bodyLeft -= data.length()) <= 0) {
      endedWithBody = true;
      out.end(data, null);
      return;
    }
    out.write(data, null);
    if (out.writeQueueFull()) {
      UpstreamStream from = answering;
      from.pauseAnswer();
      out.drainHandler(v -> from.resumeAnswer());
    }
  }

  private void relayFailed() {
    if (!relayOver) {
      relayOver = true;
      endAttempt();
      if (!endedWithBody) {
        out.reset();
      }
    }
  }

  private void relayEnd(MultiMap trailers) {
    if (relayOver) {
      return;
    }
    relayOver = true;
    endAttempt();
    if (endedWithBody) {
      return;
    }
    // gRPC's status travels in the trailers.
    if (!trailers.isEmpty()) {
      if (finish.grpcStatus == null) {
        finish.grpcStatus = trailers.get(GRPC_STATUS);
      }
      out.trailers().addAll(trailers);
    }
    out.end((io.vertx.core.Handler<AsyncResult<Void>>) null);
  }

  /** A mirror's copy of the request, its answer read and dropped. */
  private void shadow(Mirror m, Buffer whole) {
    ProxyConfig.ClusterRuntime target = config.clusters().get(m.cluster());
    UpstreamHost to =
        target == null ? null : target.upstream().choose(ThreadLocalRandom.current().nextLong());
    if (to == null) {
      return;
    }
    proxy.stats().mirror();
    boolean h2 = HttpProxy.speaksHttp2(target, in);
    HttpClient c = proxy.client(h2, target, to);
    MultiMap headers = HttpHeaders.headers();
    upstreamHeaders(headers);
    RequestOptions copy =
        new RequestOptions()
            .setMethod(options.getMethod())
            .setURI(options.getURI())
            .setHost(to.address())
            .setPort(to.port())
            .setHeaders(headers)
            .setConnectTimeout(target.connections().connectTimeoutMillis());
    String shadowAuthority = Mirror.shadowAuthority(upstreamAuthority);
    if (!h2) {
      headers.set("host", shadowAuthority);
    } else {
      headers.remove("host");
    }
    to.started();
    c.request(copy)
        .compose(
            req -> {
              if (h2) {
                req.authority(HostAndPort.parseAuthority(shadowAuthority, -1));
              }
              return req.send(whole);
            })
        .compose(HttpClientResponse::end)
        .onComplete(r -> to.finished());
  }
}
