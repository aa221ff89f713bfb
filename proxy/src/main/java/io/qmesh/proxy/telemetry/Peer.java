package io.qmesh.proxy.telemetry;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A workload as Istio's metrics name it: workload, namespace, app, version, canonical service and
 * revision, cluster and principal. Proxies exchange theirs as Istio's metadata exchange does: the
 * header {@code x-envoy-peer-metadata} carries a base64 {@code google.protobuf.Struct} with {@code
 * WORKLOAD_NAME}, {@code NAMESPACE}, {@code CLUSTER_ID} and {@code LABELS}, and {@code
 * x-envoy-peer-metadata-id} the node id; the source proxy adds them to requests, the destination to
 * responses, and each removes the other's before the application sees them.
 */
public record Peer(
    String workload,
    String namespace,
    String app,
    String version,
    String canonicalService,
    String canonicalRevision,
    String cluster,
    String principal) {

  public static final String HEADER = "x-envoy-peer-metadata";
  public static final String ID_HEADER = "x-envoy-peer-metadata-id";

  /** The header names as ASCII bytes, for the request path. */
  public static final CharSequence HEADER_NAME =
      io.vertx.core.http.HttpHeaders.createOptimized(HEADER);

  public static final CharSequence ID_HEADER_NAME =
      io.vertx.core.http.HttpHeaders.createOptimized(ID_HEADER);

  /** Whether a header is one of the two of Istio's metadata exchange (any case). */
  public static boolean isPeerHeader(CharSequence name) {
    return (name.length() == HEADER.length()
            && io.netty.util.AsciiString.contentEqualsIgnoreCase(name, HEADER))
        || (name.length() == ID_HEADER.length()
            && io.netty.util.AsciiString.contentEqualsIgnoreCase(name, ID_HEADER));
  }

  /** Istio's cluster id when none is configured. */
  public static final String DEFAULT_CLUSTER = "Kubernetes";

  static final String UNKNOWN_VALUE = "unknown";

  /** A peer nothing is known of. */
  public static final Peer UNKNOWN =
      new Peer(
          UNKNOWN_VALUE,
          UNKNOWN_VALUE,
          UNKNOWN_VALUE,
          UNKNOWN_VALUE,
          UNKNOWN_VALUE,
          UNKNOWN_VALUE,
          UNKNOWN_VALUE,
          UNKNOWN_VALUE);

  /** Decoded headers by value: a mesh has few peers, each sending the same value every time. */
  private static final Map<String, Peer> DECODED = new ConcurrentHashMap<>();

  private static final int DECODED_MAX = 4096;

  /**
   * A workload from its name, namespace and labels, with Istio's canonical service (label {@code
   * service.istio.io/canonical-name}, else {@code app.kubernetes.io/name}, else {@code app}, else
   * the workload) and revision ({@code service.istio.io/canonical-revision}, else {@code
   * app.kubernetes.io/version}, else {@code version}, else {@code latest}).
   */
  public static Peer of(
      String workload, String namespace, Map<String, String> labels, String cluster) {
    String app = labels.getOrDefault("app", UNKNOWN_VALUE);
    String version = labels.getOrDefault("version", UNKNOWN_VALUE);
    String service =
        first(
            labels,
            "service.istio.io/canonical-name",
            "app.kubernetes.io/name",
            "app",
            workload == null ? UNKNOWN_VALUE : workload);
    String revision =
        first(
            labels,
            "service.istio.io/canonical-revision",
            "app.kubernetes.io/version",
            "version",
            "latest");
    return new Peer(
        or(workload),
        or(namespace),
        app,
        version,
        service,
        revision,
        cluster == null || cluster.isEmpty() ? DEFAULT_CLUSTER : cluster,
        UNKNOWN_VALUE);
  }

  /** This peer with its SPIFFE id, which its metrics name on mutual TLS connections. */
  public Peer withPrincipal(String spiffeId) {
    return new Peer(
        workload,
        namespace,
        app,
        version,
        canonicalService,
        canonicalRevision,
        cluster,
        spiffeId == null || spiffeId.isEmpty() ? UNKNOWN_VALUE : spiffeId);
  }

  private static String first(Map<String, String> labels, String a, String b, String c, String d) {
    return labels.getOrDefault(a, labels.getOrDefault(b, labels.getOrDefault(c, d)));
  }

  private static String or(String v) {
    return v == null || v.isEmpty() ? UNKNOWN_VALUE : v;
  }

  /** This peer as the {@code x-envoy-peer-metadata} value. */
  public String encode() {
    Struct.Builder labels =
        Struct.newBuilder()
            .putFields("app", string(app))
            .putFields("version", string(version))
            .putFields("service.istio.io/canonical-name", string(canonicalService))
            .putFields("service.istio.io/canonical-revision", string(canonicalRevision));
    Struct s =
        Struct.newBuilder()
            .putFields("WORKLOAD_NAME", string(workload))
            .putFields("NAMESPACE", string(namespace))
            .putFields("CLUSTER_ID", string(cluster))
            .putFields("LABELS", Value.newBuilder().setStructValue(labels).build())
            .build();
    return Base64.getEncoder().encodeToString(s.toByteArray());
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  /**
   * The peer a {@code x-envoy-peer-metadata} value names; {@link #UNKNOWN} when it is absent or
   * bad.
   */
  public static Peer decode(String header) {
    if (header == null || header.isEmpty()) {
      return UNKNOWN;
    }
    Peer known = DECODED.get(header);
    if (known != null) {
      return known;
    }
    Peer p = parse(header);
    if (DECODED.size() < DECODED_MAX) {
      DECODED.put(header, p);
    }
    return p;
  }

  private static Peer parse(String header) {
    try {
      Struct s = Struct.parseFrom(Base64.getDecoder().decode(header));
      Map<String, String> labels = new java.util.HashMap<>();
      Value l = s.getFieldsOrDefault("LABELS", Value.getDefaultInstance());
      l.getStructValue().getFieldsMap().forEach((k, v) -> labels.put(k, v.getStringValue()));
      return of(text(s, "WORKLOAD_NAME"), text(s, "NAMESPACE"), labels, text(s, "CLUSTER_ID"));
    } catch (IllegalArgumentException | InvalidProtocolBufferException e) {
      return UNKNOWN;
    }
  }

  private static String text(Struct s, String key) {
    return s.getFieldsOrDefault(key, Value.getDefaultInstance()).getStringValue();
  }
}
