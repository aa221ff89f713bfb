package io.qmesh.pilot.xds;

import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.qmesh.pilot.model.ProxyNode;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Knows every proxy connected over ADS, state of the world or delta: its node, its streams, and per
 * resource type what was sent and what it ACKed or NACKed. java-control-plane calls it on every
 * stream event.
 */
public final class ProxyTracker implements DiscoveryServerCallbacks {

  private static final Logger LOG = Logger.getLogger(ProxyTracker.class);

  /** Per resource type: what pilot sent, and the proxy's last answer. */
  public static final class TypeState {
    volatile String sentVersion = "";
    volatile String sentNonce = "";
    volatile String ackedVersion = "";
    volatile Nack lastNack;

    public String sentVersion() {
      return sentVersion;
    }

    public String ackedVersion() {
      return ackedVersion;
    }

    public Nack lastNack() {
      return lastNack;
    }
  }

  /** A rejected config: its version and the proxy's reason. */
  public record Nack(String version, String error, Instant at) {}

  /** One connected proxy. */
  public static final class Connection {
    final ProxyNode node;
    final Instant connectedAt = Instant.now();
    final Set<Long> streams = ConcurrentHashMap.newKeySet();
    final Map<String, TypeState> types = new ConcurrentHashMap<>();

    Connection(ProxyNode node) {
      this.node = node;
    }

    public ProxyNode node() {
      return node;
    }

    public Instant connectedAt() {
      return connectedAt;
    }

    public Map<String, TypeState> types() {
      return types;
    }
  }

  private final Map<Long, Connection> byStream = new ConcurrentHashMap<>();
  private final Map<String, Connection> byId = new ConcurrentHashMap<>();

  /** Held while streams join and leave connections, and while their callbacks run. */
  private final Object membership = new Object();

  private final Consumer<ProxyNode> onConnect;
  private final Consumer<ProxyNode> onDisconnect;
  private final MeterRegistry metrics;

  public ProxyTracker(
      Consumer<ProxyNode> onConnect, Consumer<ProxyNode> onDisconnect, MeterRegistry metrics) {
    this.onConnect = onConnect;
    this.onDisconnect = onDisconnect;
    this.metrics = metrics;
    metrics.gaugeMapSize("pilot_xds", List.of(), byId);
  }

  /** The connected proxies. */
  public List<Connection> connections() {
    return List.copyOf(byId.values());
  }

  public java.util.Optional<Connection> connection(String id) {
    return java.util.Optional.ofNullable(byId.get(id));
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) throws RequestException {
    Connection c = connection(streamId, request.hasNode() ? request.getNode() : null);
    TypeState t = c.types.computeIfAbsent(request.getTypeUrl(), k -> new TypeState());
    if (request.hasErrorDetail()) {
      nacked(c, t, request.getTypeUrl(), request.getVersionInfo(), request.getErrorDetail());
    } else if (!request.getResponseNonce().isEmpty()
        && request.getResponseNonce().equals(t.sentNonce)) {
      t.ackedVersion = request.getVersionInfo();
    }
  }

  /**
   * Delta xDS: the same node rules as state of the world. A delta request carries no version: an
   * ACK or NACK names the response by its nonce, and the version is the one sent with it.
   */
  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request)
      throws RequestException {
    Connection c = connection(streamId, request.hasNode() ? request.getNode() : null);
    TypeState t = c.types.computeIfAbsent(request.getTypeUrl(), k -> new TypeState());
    String nonce = request.getResponseNonce();
    if (nonce.isEmpty() || !nonce.equals(t.sentNonce)) {
      return;
    }
    if (request.hasErrorDetail()) {
      nacked(c, t, request.getTypeUrl(), t.sentVersion, request.getErrorDetail());
    } else {
      t.ackedVersion = t.sentVersion;
    }
  }

  /** The connection of a stream's request, joined on its first; every request names the node. */
  private Connection connection(long streamId, Node node) throws RequestException {
    Connection c = byStream.get(streamId);
    if (c == null) {
      if (node == null || node.getId().isEmpty()) {
        throw new RequestException(
            Status.INVALID_ARGUMENT.withDescription(
                "the first request of a stream must carry the node"));
      }
      ProxyNode proxy;
      try {
        proxy = ProxyNode.from(node);
      } catch (IllegalArgumentException e) {
        metrics.counter("pilot_xds_rejected_connections").increment();
        throw new RequestException(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
      }
      c = opened(streamId, proxy);
    }
    if (node == null || !node.getId().equals(c.node.id())) {
      // java-control-plane finds a proxy's config by the node of each request; one without it
      // would wait forever, so say so instead.
      throw new RequestException(
          Status.INVALID_ARGUMENT.withDescription(
              "every request must carry the node "
                  + c.node.id()
                  + " (Envoy: do not set set_node_on_first_message_only)"));
    }
    return c;
  }

  private void nacked(
      Connection c, TypeState t, String typeUrl, String version, com.google.rpc.Status error) {
    t.lastNack = new Nack(version, error.getMessage(), Instant.now());
    metrics.counter("pilot_total_xds_rejects", "type", shortType(typeUrl)).increment();
    LOG.warnf(
        "proxy %s rejected %s version %s: %s",
        c.node.id(), shortType(typeUrl), t.sentVersion, error.getMessage());
  }

  @Override
  public void onV3StreamResponse(
      long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    sent(streamId, response.getTypeUrl(), response.getVersionInfo(), response.getNonce());
  }

  @Override
  public void onV3StreamDeltaResponse(
      long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    sent(streamId, response.getTypeUrl(), response.getSystemVersionInfo(), response.getNonce());
  }

  private void sent(long streamId, String typeUrl, String version, String nonce) {
    Connection c = byStream.get(streamId);
    if (c != null) {
      TypeState t = c.types.computeIfAbsent(typeUrl, k -> new TypeState());
      t.sentVersion = version;
      t.sentNonce = nonce;
      metrics.counter("pilot_xds_pushes", "type", shortType(typeUrl)).increment();
    }
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    closed(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    closed(streamId);
  }

  /**
   * A stream's first request: the stream joins its proxy's connection, and a proxy that had none is
   * connected. Under {@link #membership} with {@link #closed}, so that a reconnecting proxy's new
   * stream and its old stream's close, which gRPC may deliver on two threads in either order, are
   * one connect and one disconnect in the order they took effect: the scheduler and the registry
   * never see a proxy connected whose streams are all gone, or one disconnected (its workload due
   * for removal, its pushes stopped) that still has a stream open.
   */
  private Connection opened(long streamId, ProxyNode node) {
    synchronized (membership) {
      Connection c = byId.get(node.id());
      boolean first = c == null;
      if (first) {
        c = new Connection(node);
        byId.put(node.id(), c);
      }
      c.streams.add(streamId);
      byStream.put(streamId, c);
      if (first) {
        LOG.infof("proxy connected: %s", node.id());
        onConnect.accept(node);
      }
      return c;
    }
  }

  private void closed(long streamId) {
    synchronized (membership) {
      Connection c = byStream.remove(streamId);
      if (c == null) {
        return;
      }
      c.streams.remove(streamId);
      if (c.streams.isEmpty() && byId.remove(c.node.id(), c)) {
        LOG.infof("proxy disconnected: %s", c.node.id());
        onDisconnect.accept(c.node);
      }
    }
  }

  /**
   * {@code type.googleapis.com/envoy.config.cluster.v3.Cluster} as Istio's short names: cds, eds,
   * lds, rds.
   */
  public static String shortType(String typeUrl) {
    if (typeUrl.endsWith(".Cluster")) {
      return "cds";
    }
    if (typeUrl.endsWith(".ClusterLoadAssignment")) {
      return "eds";
    }
    if (typeUrl.endsWith(".Listener")) {
      return "lds";
    }
    if (typeUrl.endsWith(".RouteConfiguration")) {
      return "rds";
    }
    return typeUrl.substring(typeUrl.lastIndexOf('.') + 1).toLowerCase();
  }
}
