package io.qmesh.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.vertx.core.AsyncResult;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The proxy's side of ADS: one stream to pilot carrying the node on every request; clusters and
 * listeners asked for whole, assignments and route configs by the names those reference. Every
 * update is offered to the proxy; it is ACKed when applied, NACKed with the proxy's reason
 * otherwise, and the previous resources stay in force. When pilot is unreachable the proxy keeps
 * what it has and reconnects with exponential backoff and full jitter.
 *
 * <p>Two protocols, as Envoy speaks them. State of the world: each response holds every resource of
 * its type. Delta (incremental, Istio's default since 1.22): a response holds the resources that
 * changed and the names of those removed, and names are subscribed and unsubscribed as the
 * references change; an endpoint change in a mesh of 1000 services is then one assignment, not
 * 1000. On a new delta stream the first response of each type replaces what the proxy holds of it:
 * the client does not send {@code initial_resource_versions}, so pilot sends every subscribed
 * resource it has, and a resource removed while the stream was down is dropped then.
 *
 * <p>The stream is Vert.x's gRPC client on the proxy's own Vert.x (the HTTP/2 stack the data plane
 * already runs), not gRPC-java's channel, which would bring its own Netty event loop, buffer pool
 * and some 650 classes into every sidecar. Responses are parsed on the client's executor, not on
 * the event loop that forwards requests.
 */
public final class XdsClient implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(XdsClient.class.getName());
  static final Duration BACKOFF_BASE = Duration.ofMillis(250);
  static final Duration BACKOFF_MAX = Duration.ofSeconds(10);

  /** State per type: the last version applied, the names asked for. */
  private static final class TypeState {
    String version = "";
    String nonce = "";
    Set<String> names = new TreeSet<>();

    /** Delta: whether a response of this type came on the current stream. */
    boolean answered;
  }

  private static final ServiceName ADS =
      ServiceName.create("envoy.service.discovery.v3.AggregatedDiscoveryService");
  private static final ServiceMethod<Buffer, DiscoveryRequest> STATE_OF_THE_WORLD =
      ServiceMethod.client(
          ADS,
          "StreamAggregatedResources",
          GrpcMessageEncoder.encoder(),
          GrpcMessageDecoder.IDENTITY);
  private static final ServiceMethod<Buffer, DeltaDiscoveryRequest> INCREMENTAL =
      ServiceMethod.client(
          ADS,
          "DeltaAggregatedResources",
          GrpcMessageEncoder.encoder(),
          GrpcMessageDecoder.IDENTITY);

  /** A config for a large mesh is one message: a window and a limit to match. */
  private static final int MAX_MESSAGE_BYTES = 64 << 20;

  private final GrpcClient grpc;
  private final SocketAddress pilot;
  private final Node node;
  private final Function<XdsResources, String> applier;
  private final ScheduledExecutorService exec;
  private final Map<XdsType, TypeState> types = new EnumMap<>(XdsType.class);
  private volatile XdsResources accepted = XdsResources.EMPTY;
  private final boolean delta;
  private GrpcClientRequest<DiscoveryRequest, Buffer> requests;
  private GrpcClientRequest<DeltaDiscoveryRequest, Buffer> deltaRequests;

  /** The number of the stream in use (0: none); a stream's end counts only while it is current. */
  private long stream;

  private long streams;
  private int failures;
  private volatile boolean connected;
  private volatile boolean closed;

  /** Runs on the client's executor; nothing once it is shut down (the proxy is stopping). */
  private void later(Runnable r) {
    try {
      exec.execute(r);
    } catch (java.util.concurrent.RejectedExecutionException stopping) {
      // The stream ended because the proxy is shutting down: nothing to reconnect.
    }
  }

  /**
   * @param applier applies a candidate set of resources and returns null, or the reason it was
   *     refused; called on {@code exec}'s thread only
   * @param exec a single-threaded executor that runs all of this client's work, in order
   * @param delta whether to speak delta xDS rather than state of the world
   */
  public XdsClient(
      Vertx vertx,
      String host,
      int port,
      Node node,
      Function<XdsResources, String> applier,
      ScheduledExecutorService exec,
      boolean delta) {
    this.grpc =
        GrpcClient.client(
            vertx,
            new GrpcClientOptions()
                .setMaxMessageSize(MAX_MESSAGE_BYTES)
                .setTransportOptions(
                    new HttpClientOptions()
                        .setProtocolVersion(HttpVersion.HTTP_2)
                        .setHttp2ClearTextUpgrade(false)
                        .setHttp2ConnectionWindowSize(16 << 20)
                        .setInitialSettings(new Http2Settings().setInitialWindowSize(16 << 20))));
    this.pilot = SocketAddress.inetSocketAddress(port, host);
    this.node = node;
    this.applier = applier;
    this.exec = exec;
    this.delta = delta;
    for (XdsType t : XdsType.values()) {
      types.put(t, new TypeState());
    }
  }

  /** Opens the stream. */
  public void start() {
    exec.execute(this::connect);
  }

  /** The resources last applied. */
  public XdsResources resources() {
    return accepted;
  }

  /** Whether the stream is up and has delivered at least one response. */
  public boolean connected() {
    return connected;
  }

  /** The version last applied for each type, for the admin endpoint. */
  public Map<String, String> versions() {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    types.forEach((t, s) -> out.put(t.name().toLowerCase(), s.version));
    return out;
  }

  /** Whether the stream speaks delta xDS. */
  public boolean delta() {
    return delta;
  }

  /**
   * Opens a stream to pilot. {@code opened} gets it on the client's executor; each response is
   * parsed and handled there, in order; the stream's end, its failure or a failure to open it is a
   * lost stream.
   */
  private <Q, R> void open(
      ServiceMethod<Buffer, Q> method,
      Parser<R> parser,
      Consumer<GrpcClientRequest<Q, Buffer>> opened,
      Consumer<R> handler) {
    long id = ++streams;
    stream = id;
    grpc.request(pilot, method)
        .onComplete(
            ar -> {
              if (ar.failed()) {
                later(() -> lost(id, ar.cause().toString()));
                return;
              }
              GrpcClientRequest<Q, Buffer> request = ar.result();
              request.exceptionHandler(t -> later(() -> lost(id, t.toString())));
              request.response().onComplete(res -> receive(id, res, parser, handler));
              later(
                  () -> {
                    if (stream == id) {
                      opened.accept(request);
                    } else {
                      request.cancel();
                    }
                  });
            });
  }

  private <Q, R> void receive(
      long id,
      AsyncResult<GrpcClientResponse<Q, Buffer>> res,
      Parser<R> parser,
      Consumer<R> handler) {
    if (res.failed()) {
      later(() -> lost(id, res.cause().toString()));
      return;
    }
    GrpcClientResponse<Q, Buffer> response = res.result();
    response.exceptionHandler(t -> later(() -> lost(id, t.toString())));
    response.endHandler(
        v ->
            later(
                () ->
                    lost(
                        id,
                        response.status() == GrpcStatus.OK
                            ? "stream closed by pilot"
                            : "pilot ended the stream: "
                                + response.status()
                                + " "
                                + response.statusMessage())));
    response.handler(
        bytes ->
            later(
                () -> {
                  if (stream != id) {
                    return;
                  }
                  R message;
                  try {
                    message = parser.parseFrom(bytes.getBytes());
                  } catch (InvalidProtocolBufferException e) {
                    lost(id, "a response that does not parse: " + e.getMessage());
                    return;
                  }
                  handler.accept(message);
                }));
  }

  private void connect() {
    if (closed) {
      return;
    }
    if (delta) {
      connectDelta();
      return;
    }
    open(
        STATE_OF_THE_WORLD,
        DiscoveryResponse.parser(),
        opened -> {
          requests = opened;
          // Ask again for what we hold, at the versions we hold: pilot answers only what changed.
          for (XdsType t : XdsType.values()) {
            if (t.wildcard || !types.get(t).names.isEmpty()) {
              send(t, types.get(t).version, "", null);
            }
          }
        },
        this::onResponse);
  }

  /** Stream {@code id} ended: when it is the current one, reconnect after a backoff. */
  private void lost(long id, String why) {
    if (id != stream) {
      return;
    }
    stream = 0;
    if (requests != null) {
      requests.cancel();
      requests = null;
    }
    if (deltaRequests != null) {
      deltaRequests.cancel();
      deltaRequests = null;
    }
    connected = false;
    if (closed) {
      return;
    }
    long cap = Math.min(BACKOFF_MAX.toMillis(), BACKOFF_BASE.toMillis() << Math.min(failures, 10));
    long delay = ThreadLocalRandom.current().nextLong(cap + 1);
    failures++;
    LOG.warning(
        "xDS stream to pilot lost ("
            + why
            + "); keeping the current config, retrying in "
            + delay
            + " ms");
    exec.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
  }

  private void onResponse(DiscoveryResponse r) {
    XdsType type;
    try {
      type = XdsType.of(r.getTypeUrl());
    } catch (IllegalArgumentException e) {
      requests.write(
          DiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl(r.getTypeUrl())
              .setResponseNonce(r.getNonce())
              .setErrorDetail(
                  Status.newBuilder()
                      .setCode(3)
                      .setMessage("this proxy does not take " + r.getTypeUrl()))
              .build());
      return;
    }
    TypeState state = types.get(type);
    String error;
    XdsResources candidate = null;
    try {
      candidate = type.replace(accepted, type.decode(r.getResourcesList()));
      error = applier.apply(candidate);
    } catch (InvalidProtocolBufferException e) {
      error = type + " resources do not decode: " + e.getMessage();
    } catch (RuntimeException e) {
      error = type + " version " + r.getVersionInfo() + ": " + e.getMessage();
    }
    connected = true;
    failures = 0;
    if (error != null) {
      LOG.warning("rejected " + type + " version " + r.getVersionInfo() + ": " + error);
      send(type, state.version, r.getNonce(), error);
      return;
    }
    accepted = candidate;
    state.version = r.getVersionInfo();
    send(type, state.version, r.getNonce(), null);
    followReferences(type, candidate);
  }

  /** After clusters or listeners were applied: the assignments or route configs they name. */
  private void followReferences(XdsType applied, XdsResources now) {
    if (applied == XdsType.CDS) {
      follow(XdsType.EDS, edsNames(now));
    } else if (applied == XdsType.LDS) {
      follow(XdsType.RDS, rdsNames(now));
    }
  }

  /** Subscribes a named type to the names the other resources now reference. */
  private void follow(XdsType type, Set<String> names) {
    TypeState s = types.get(type);
    if (!names.equals(s.names)) {
      Set<String> before = s.names;
      s.names = names;
      if (delta) {
        subscribe(type, before);
      } else {
        send(type, s.version, s.nonce, null);
      }
    }
  }

  private void send(XdsType type, String version, String nonce, String error) {
    if (requests == null) {
      return;
    }
    TypeState s = types.get(type);
    s.nonce = nonce;
    DiscoveryRequest.Builder req =
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(type.url)
            .setVersionInfo(version)
            .setResponseNonce(nonce)
            .addAllResourceNames(type.wildcard ? List.of() : s.names);
    if (error != null) {
      req.setErrorDetail(Status.newBuilder().setCode(3).setMessage(error));
    }
    requests.write(req.build());
  }

  private void connectDelta() {
    open(
        INCREMENTAL,
        DeltaDiscoveryResponse.parser(),
        opened -> {
          deltaRequests = opened;
          // A new stream knows nothing: subscribe to everything held, and take each type's first
          // response as its whole state.
          for (XdsType t : XdsType.values()) {
            TypeState s = types.get(t);
            s.answered = false;
            if (t.wildcard || !s.names.isEmpty()) {
              subscribe(t, Set.of());
            }
          }
        },
        this::onDeltaResponse);
  }

  /**
   * Sends the difference between the names wanted now and {@code before} (none, on a new stream).
   */
  private void subscribe(XdsType type, Set<String> before) {
    Set<String> names = types.get(type).names;
    DeltaDiscoveryRequest.Builder req =
        DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type.url);
    if (!type.wildcard) {
      for (String n : names) {
        if (!before.contains(n)) {
          req.addResourceNamesSubscribe(n);
        }
      }
      for (String n : before) {
        if (!names.contains(n)) {
          req.addResourceNamesUnsubscribe(n);
        }
      }
    }
    if (deltaRequests != null) {
      deltaRequests.write(req.build());
    }
  }

  private void onDeltaResponse(DeltaDiscoveryResponse r) {
    XdsType type;
    try {
      type = XdsType.of(r.getTypeUrl());
    } catch (IllegalArgumentException e) {
      deltaAnswer(r, "this proxy does not take " + r.getTypeUrl());
      return;
    }
    TypeState state = types.get(type);
    String error;
    XdsResources candidate = null;
    try {
      Map<String, Object> next = new LinkedHashMap<>();
      if (state.answered) {
        next.putAll(type.of(accepted));
        if (!type.wildcard) {
          // What was unsubscribed goes: pilot says nothing more of it.
          next.keySet().retainAll(state.names);
        }
        r.getRemovedResourcesList().forEach(next::remove);
      }
      List<Any> added = new java.util.ArrayList<>(r.getResourcesCount());
      for (Resource res : r.getResourcesList()) {
        added.add(res.getResource());
      }
      next.putAll(type.decode(added));
      candidate = type.replace(accepted, next);
      error = applier.apply(candidate);
    } catch (InvalidProtocolBufferException e) {
      error = type + " resources do not decode: " + e.getMessage();
    } catch (RuntimeException e) {
      error = type + " version " + r.getSystemVersionInfo() + ": " + e.getMessage();
    }
    connected = true;
    failures = 0;
    if (error != null) {
      LOG.warning("rejected " + type + " version " + r.getSystemVersionInfo() + ": " + error);
      deltaAnswer(r, error);
      return;
    }
    accepted = candidate;
    state.answered = true;
    state.version = r.getSystemVersionInfo();
    deltaAnswer(r, null);
    followReferences(type, candidate);
  }

  /** The ACK (no error) or NACK of a delta response. */
  private void deltaAnswer(DeltaDiscoveryResponse r, String error) {
    DeltaDiscoveryRequest.Builder req =
        DeltaDiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(r.getTypeUrl())
            .setResponseNonce(r.getNonce());
    if (error != null) {
      req.setErrorDetail(Status.newBuilder().setCode(3).setMessage(error));
    }
    deltaRequests.write(req.build());
  }

  static Set<String> edsNames(XdsResources r) {
    Set<String> out = new TreeSet<>();
    for (Cluster c : r.clusters().values()) {
      if (c.getType() == Cluster.DiscoveryType.EDS) {
        String service = c.getEdsClusterConfig().getServiceName();
        out.add(service.isEmpty() ? c.getName() : service);
      }
    }
    return out;
  }

  static Set<String> rdsNames(XdsResources r) {
    Set<String> out = new TreeSet<>();
    for (Listener l : r.listeners().values()) {
      if (l.hasApiListener()) {
        addRds(l.getApiListener().getApiListener(), out);
      }
      for (FilterChain fc : l.getFilterChainsList()) {
        for (Filter f : fc.getFiltersList()) {
          addRds(f.getTypedConfig(), out);
        }
      }
    }
    return out;
  }

  private static void addRds(Any config, Set<String> out) {
    if (TypedConfigs.is(config, HttpConnectionManager.getDescriptor())) {
      try {
        HttpConnectionManager hcm =
            TypedConfigs.unpack(
                config, HttpConnectionManager.getDescriptor(), HttpConnectionManager.parser());
        if (hcm.hasRds()) {
          out.add(hcm.getRds().getRouteConfigName());
        }
      } catch (InvalidProtocolBufferException e) {
        // The applier rejects the listener; nothing to subscribe to.
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    // Closing the connection ends the stream for pilot; no reconnect follows (closed).
    grpc.close();
  }
}
