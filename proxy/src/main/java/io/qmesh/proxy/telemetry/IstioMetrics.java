package io.qmesh.proxy.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.noop.NoopCounter;
import io.micrometer.core.instrument.noop.NoopDistributionSummary;
import io.qmesh.proxy.xds.TypedConfigs;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Istio's standard HTTP metrics as one proxy reports them: {@code istio_requests_total}, {@code
 * istio_request_duration_milliseconds}, {@code istio_request_bytes} and {@code
 * istio_response_bytes}, with Istio's full label set ({@link #LABELS}) and Envoy's default
 * histogram buckets. A sidecar's outbound side reports as {@code source} (itself the source, the
 * destination from the answer's peer metadata), its inbound side as {@code destination} (the source
 * from the request's peer metadata); a gateway reports as {@code source}.
 *
 * <p>Recording looks up the series by a small key of what varies per request (the peer, the
 * destination service, protocol, code, gRPC status and flags); the 25 labels of a series are built
 * once, when it first appears.
 *
 * <p>A Telemetry can drop metrics (Istio's {@code metrics.overrides[].disabled}); pilot sends that
 * as the {@code istio.stats} filter's drop list, compiled to a mask of {@link #dropMask} bits. A
 * dropped metric's series is never registered (it does not appear on the scrape); its recording
 * goes to a no-op meter.
 */
public final class IstioMetrics {

  /** Istio's labels, in Istio's order. */
  public static final List<String> LABELS =
      List.of(
          "reporter",
          "source_workload",
          "source_canonical_service",
          "source_canonical_revision",
          "source_workload_namespace",
          "source_principal",
          "source_app",
          "source_version",
          "source_cluster",
          "destination_workload",
          "destination_workload_namespace",
          "destination_principal",
          "destination_app",
          "destination_version",
          "destination_service",
          "destination_canonical_service",
          "destination_canonical_revision",
          "destination_service_name",
          "destination_service_namespace",
          "destination_cluster",
          "request_protocol",
          "response_code",
          "grpc_response_status",
          "response_flags",
          "connection_security_policy");

  /** Envoy's default histogram buckets, which Istio's metrics use. */
  public static final double[] BUCKETS = {
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
    1800000, 3600000
  };

  /** Bits of a drop mask: one per metric, by the names of Istio's stats plugin config. */
  public static final int REQUESTS = 1,
      DURATION = 1 << 1,
      REQUEST_BYTES = 1 << 2,
      RESPONSE_BYTES = 1 << 3,
      TCP_OPENED = 1 << 4,
      TCP_CLOSED = 1 << 5,
      TCP_SENT = 1 << 6,
      TCP_RECEIVED = 1 << 7;

  /** Every HTTP metric (a mask that drops them all records nothing for a request). */
  public static final int HTTP = REQUESTS | DURATION | REQUEST_BYTES | RESPONSE_BYTES;

  /** Every TCP metric. */
  public static final int TCP = TCP_OPENED | TCP_CLOSED | TCP_SENT | TCP_RECEIVED;

  /**
   * Istio's metric names in its stats plugin config ({@code stats.PluginConfig}), and their bits.
   * gRPC's message counts are Istio's too, but qmesh reports no such metric: dropping them is a
   * no-op.
   */
  private static final Map<String, Integer> BY_NAME =
      Map.of(
          "requests_total", REQUESTS,
          "request_duration_milliseconds", DURATION,
          "request_bytes", REQUEST_BYTES,
          "response_bytes", RESPONSE_BYTES,
          "tcp_connections_opened_total", TCP_OPENED,
          "tcp_connections_closed_total", TCP_CLOSED,
          "tcp_sent_bytes_total", TCP_SENT,
          "tcp_received_bytes_total", TCP_RECEIVED,
          "request_messages_total", 0,
          "response_messages_total", 0);

  /**
   * The bit of one metric by its stats plugin name; the empty name is every metric, as in Istio's
   * plugin config.
   *
   * @throws IllegalArgumentException for a name Istio does not define
   */
  public static int dropMask(String name) {
    if (name.isEmpty()) {
      return HTTP | TCP;
    }
    Integer bit = BY_NAME.get(name);
    if (bit == null) {
      throw new IllegalArgumentException(
          "unknown metric '" + name + "'; known: " + new java.util.TreeSet<>(BY_NAME.keySet()));
    }
    return bit;
  }

  /** The name of Istio's stats filter (HTTP and network), whose config lists dropped metrics. */
  public static final String STATS_FILTER = "istio.stats";

  /**
   * The metrics a stats filter's config drops: Istio's {@code stats.PluginConfig} as a {@code
   * TypedStruct} (Envoy's form for a config of an extension whose proto a proxy may not have), of
   * which qmesh reads {@code metrics[].name} and {@code metrics[].drop}.
   *
   * @param filter a filter's name: any other than {@link #STATS_FILTER} drops nothing
   * @throws IllegalArgumentException naming what does not decode or is unknown
   */
  public static int dropMask(String filter, com.google.protobuf.Any config) {
    if (!filter.equals(STATS_FILTER)) {
      return 0;
    }
    if (!TypedConfigs.is(config, com.github.xds.type.v3.TypedStruct.getDescriptor())) {
      throw new IllegalArgumentException(
          STATS_FILTER
              + ": expected a TypedStruct of stats.PluginConfig, got "
              + config.getTypeUrl());
    }
    com.google.protobuf.Struct plugin;
    try {
      plugin =
          TypedConfigs.unpack(
                  config,
                  com.github.xds.type.v3.TypedStruct.getDescriptor(),
                  com.github.xds.type.v3.TypedStruct.parser())
              .getValue();
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(STATS_FILTER + " does not decode: " + e.getMessage());
    }
    int mask = 0;
    var metrics =
        plugin.getFieldsOrDefault("metrics", com.google.protobuf.Value.getDefaultInstance());
    for (com.google.protobuf.Value m : metrics.getListValue().getValuesList()) {
      var fields = m.getStructValue().getFieldsMap();
      var drop = fields.get("drop");
      if (drop != null && drop.getBoolValue()) {
        var name = fields.get("name");
        try {
          mask |= dropMask(name == null ? "" : name.getStringValue());
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(STATS_FILTER + ": " + e.getMessage());
        }
      }
    }
    return mask;
  }

  /** Who reports. */
  public enum Reporter {
    SOURCE,
    DESTINATION
  }

  /** What one request's series depends on besides the reporter and this proxy. */
  private record Key(
      Peer peer,
      String peerPrincipal,
      String service,
      String protocol,
      int code,
      String grpcStatus,
      String flags,
      int dropped) {}

  /** One TCP series: connections opened and closed, bytes sent and received (by the reporter). */
  public record TcpSeries(Counter opened, Counter closed, Counter sent, Counter received) {}

  private record TcpKey(
      Peer peer, String peerPrincipal, String service, String flags, int dropped) {}

  private final Map<TcpKey, TcpSeries> tcpSeries = new ConcurrentHashMap<>();

  /**
   * The TCP series of a connection: Istio's labels without {@code response_code} and {@code
   * grpc_response_status}, {@code request_protocol="tcp"}.
   *
   * @param peer the other side ({@link Peer#UNKNOWN} while TCP carries no metadata exchange)
   * @param peerPrincipal the other side's SPIFFE id on a mutual TLS connection, null on plaintext
   * @param service the destination service's host name, or null when unknown
   * @param dropped the metrics not to record ({@link #dropMask} bits of the listener's config)
   * @return the series, or null when {@code dropped} drops every TCP metric
   */
  public TcpSeries tcp(Peer peer, String peerPrincipal, String service, String flags, int dropped) {
    if ((dropped & TCP) == TCP) {
      return null;
    }
    TcpKey key =
        new TcpKey(
            peer, peerPrincipal, service == null ? Peer.UNKNOWN_VALUE : service, flags, dropped);
    TcpSeries s = tcpSeries.get(key);
    return s != null ? s : tcpSeries.computeIfAbsent(key, this::registerTcp);
  }

  private TcpSeries registerTcp(TcpKey k) {
    String[] all =
        tags(new Key(k.peer(), k.peerPrincipal(), k.service(), "tcp", 0, "", k.flags(), 0));
    List<String> tcp = new java.util.ArrayList<>();
    for (int i = 0; i < all.length; i += 2) {
      if (!all[i].equals("response_code") && !all[i].equals("grpc_response_status")) {
        tcp.add(all[i]);
        tcp.add(all[i + 1]);
      }
    }
    Tags tags = Tags.of(tcp.toArray(String[]::new));
    int d = k.dropped();
    return new TcpSeries(
        counter(d, TCP_OPENED, "istio_tcp_connections_opened", "TCP connections opened", tags),
        counter(d, TCP_CLOSED, "istio_tcp_connections_closed", "TCP connections closed", tags),
        counter(
            d,
            TCP_SENT,
            "istio_tcp_sent_bytes",
            "Bytes sent to the downstream on TCP connections",
            tags),
        counter(
            d,
            TCP_RECEIVED,
            "istio_tcp_received_bytes",
            "Bytes received from the downstream on TCP connections",
            tags));
  }

  private Counter counter(int dropped, int bit, String name, String description, Tags tags) {
    if ((dropped & bit) != 0) {
      return new NoopCounter(new Meter.Id(name, tags, null, description, Meter.Type.COUNTER));
    }
    return Counter.builder(name).description(description).tags(tags).register(registry);
  }

  private record Series(
      Counter requests,
      DistributionSummary duration,
      DistributionSummary requestBytes,
      DistributionSummary responseBytes) {}

  private final MeterRegistry registry;
  private final Reporter reporter;
  private final Peer self;
  private final CharSequence selfHeader;
  private final CharSequence nodeId;
  private final Map<Key, Series> series = new ConcurrentHashMap<>();

  /**
   * The series recorded last and its key. Most requests of a proxy repeat the one before (the same
   * peer, service, code and flags): those find their series by comparing the keys (a record's
   * equality, which takes the same peer by identity), without hashing one (in the benchmark's
   * profile the map's lookup, with the hash of the key's records, cost a quarter of a microsecond a
   * request). Any mismatch goes to the map; an event loop that overwrites another's entry only
   * costs the other a lookup.
   */
  private volatile Last last;

  private record Last(Key key, Series series) {}

  /**
   * @param nodeId this proxy's node id, sent as {@code x-envoy-peer-metadata-id}
   */
  public IstioMetrics(MeterRegistry registry, Reporter reporter, Peer self, String nodeId) {
    this.registry = registry;
    this.reporter = reporter;
    this.self = self;
    // Encoded once as ASCII bytes, so adding them to each request copies bytes, no UTF-8 encoding.
    this.selfHeader = io.vertx.core.http.HttpHeaders.createOptimized(self.encode());
    this.nodeId = io.vertx.core.http.HttpHeaders.createOptimized(nodeId);
  }

  /** This proxy's {@code x-envoy-peer-metadata} value. */
  public CharSequence selfHeader() {
    return selfHeader;
  }

  /** This proxy's {@code x-envoy-peer-metadata-id} value. */
  public CharSequence nodeId() {
    return nodeId;
  }

  public Reporter reporter() {
    return reporter;
  }

  public Peer self() {
    return self;
  }

  /**
   * Records one request.
   *
   * @param peer the other side (the destination for a source report, the source for a destination
   *     report)
   * @param peerPrincipal the other side's SPIFFE id when the connection is mutual TLS, else null
   * @param service the destination service's host name ({@code reviews.default.svc.cluster.local})
   *     or null when unknown
   * @param grpcStatus the gRPC status, or null for plain HTTP
   * @param flags Envoy's response flags, {@code -} for none
   * @param dropped the metrics not to record ({@link #dropMask} bits of the listener's config)
   */
  public void record(
      Peer peer,
      String peerPrincipal,
      String service,
      boolean grpc,
      int code,
      String grpcStatus,
      String flags,
      double durationMillis,
      long requestBytes,
      long responseBytes,
      int dropped) {
    if ((dropped & HTTP) == HTTP) {
      return;
    }
    Key key =
        new Key(
            peer,
            peerPrincipal,
            service == null ? Peer.UNKNOWN_VALUE : service,
            grpc ? "grpc" : "http",
            code,
            grpcStatus == null ? "" : grpcStatus,
            flags,
            dropped & HTTP);
    Last l = last;
    Series s;
    if (l != null && l.key().equals(key)) {
      s = l.series();
    } else {
      s = series.get(key);
      if (s == null) {
        s = series.computeIfAbsent(key, this::register);
      }
      last = new Last(key, s);
    }
    s.requests().increment();
    s.duration().record(durationMillis);
    s.requestBytes().record(requestBytes);
    s.responseBytes().record(responseBytes);
  }

  private Series register(Key k) {
    Tags tags = Tags.of(tags(k));
    int d = k.dropped();
    return new Series(
        counter(d, REQUESTS, "istio_requests", "Requests", tags),
        histogram(d, DURATION, "istio_request_duration_milliseconds", "Request duration", tags),
        histogram(d, REQUEST_BYTES, "istio_request_bytes", "Request body sizes", tags),
        histogram(d, RESPONSE_BYTES, "istio_response_bytes", "Response body sizes", tags));
  }

  private DistributionSummary histogram(
      int dropped, int bit, String name, String description, Tags tags) {
    if ((dropped & bit) != 0) {
      return new NoopDistributionSummary(
          new Meter.Id(name, tags, null, description, Meter.Type.DISTRIBUTION_SUMMARY));
    }
    return DistributionSummary.builder(name)
        .description(description)
        .tags(tags)
        .serviceLevelObjectives(BUCKETS)
        .register(registry);
  }

  /** The 25 label values of a series, keyed by {@link #LABELS}. */
  private String[] tags(Key k) {
    Peer source = reporter == Reporter.SOURCE ? self : k.peer();
    Peer destination = reporter == Reporter.SOURCE ? k.peer() : self;
    // Principals are known on mutual TLS only: this proxy's own identity and the peer's
    // certificate's; plaintext leaves both unknown, as Istio's.
    boolean mtls = k.peerPrincipal() != null;
    String selfPrincipal = mtls ? self.principal() : Peer.UNKNOWN_VALUE;
    String peerPrincipal = mtls ? k.peerPrincipal() : Peer.UNKNOWN_VALUE;
    String sourcePrincipal = reporter == Reporter.SOURCE ? selfPrincipal : peerPrincipal;
    String destinationPrincipal = reporter == Reporter.SOURCE ? peerPrincipal : selfPrincipal;
    String service = k.service();
    int dot = service.indexOf('.');
    String serviceName = dot < 0 ? service : service.substring(0, dot);
    String serviceNamespace;
    if (dot < 0) {
      serviceNamespace =
          service.equals(Peer.UNKNOWN_VALUE) ? Peer.UNKNOWN_VALUE : destination.namespace();
    } else {
      int next = service.indexOf('.', dot + 1);
      serviceNamespace = next < 0 ? service.substring(dot + 1) : service.substring(dot + 1, next);
    }
    return new String[] {
      "reporter", reporter == Reporter.SOURCE ? "source" : "destination",
      "source_workload", source.workload(),
      "source_canonical_service", source.canonicalService(),
      "source_canonical_revision", source.canonicalRevision(),
      "source_workload_namespace", source.namespace(),
      "source_principal", sourcePrincipal,
      "source_app", source.app(),
      "source_version", source.version(),
      "source_cluster", source.cluster(),
      "destination_workload", destination.workload(),
      "destination_workload_namespace", destination.namespace(),
      "destination_principal", destinationPrincipal,
      "destination_app", destination.app(),
      "destination_version", destination.version(),
      "destination_service", service,
      "destination_canonical_service", destination.canonicalService(),
      "destination_canonical_revision", destination.canonicalRevision(),
      "destination_service_name", serviceName,
      "destination_service_namespace", serviceNamespace,
      "destination_cluster", destination.cluster(),
      "request_protocol", k.protocol(),
      "response_code", String.valueOf(k.code()),
      "grpc_response_status", k.grpcStatus(),
      "response_flags", k.flags(),
      // Istio's: what the destination saw ("mutual_tls" or "none"); "unknown" at the source.
      "connection_security_policy",
          reporter == Reporter.SOURCE ? "unknown" : mtls ? "mutual_tls" : "none"
    };
  }
}
