package io.qmesh.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.qmesh.proxy.xds.XdsClient;
import io.qmesh.proxy.xds.XdsResources;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What a proxy's admin endpoint shows of what it runs. */
public final class Admin {

  /**
   * What the JSON answers need (Jackson, protobuf's printer and the Envoy types it names), set up
   * on the first one: a proxy that is never asked for a dump loads none of it.
   */
  private static final class Json {
    /** The Envoy extension types qmesh's xDS resources carry, for JSON in and out. */
    static final JsonFormat.TypeRegistry TYPES =
        JsonFormat.TypeRegistry.newBuilder()
            .add(HttpConnectionManager.getDescriptor())
            .add(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                    .getDescriptor())
            .add(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                    .getDescriptor())
            .add(
                io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer
                    .getDescriptor())
            .add(
                io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
                    .getDescriptor())
            .add(Router.getDescriptor())
            .add(HTTPFault.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors.getDescriptor())
            .add(TcpProxy.getDescriptor())
            .add(PreviousHostsPredicate.getDescriptor())
            .add(HttpProtocolOptions.getDescriptor())
            .add(io.envoyproxy.envoy.config.trace.v3.ZipkinConfig.getDescriptor())
            .add(io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.getDescriptor())
            .add(
                io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog.getDescriptor())
            // Istio's stats filter config (stats.PluginConfig) travels as a TypedStruct.
            .add(com.github.xds.type.v3.TypedStruct.getDescriptor())
            .build();

    /** Prints the typed configs pilot sends inside resources, so a dump shows them whole. */
    static final JsonFormat.Printer PRINTER =
        JsonFormat.printer().omittingInsignificantWhitespace().usingTypeRegistry(TYPES);

    static final ObjectMapper MAPPER = new ObjectMapper();
  }

  /** The Envoy extension types qmesh's xDS resources carry, for JSON in and out. */
  public static JsonFormat.TypeRegistry types() {
    return Json.TYPES;
  }

  private Admin() {}

  /** What an admin endpoint shows of one proxy. */
  public interface View {

    /** Config from pilot applied and listeners up. */
    boolean ready();

    /** {@link #configDump}'s map, with whatever the proxy adds (a gateway's ports). */
    Map<String, Object> configDump();

    ProxyConfig config();

    /** The Prometheus exposition of the proxy's meters. */
    String prometheus();

    /** The workload's certificates, or null when the proxy has none (no CA configured). */
    default io.qmesh.proxy.security.WorkloadCertificates certificates() {
      return null;
    }
  }

  /**
   * The admin endpoint as a server of its own on {@code host:port} (Envoy's 15000, on loopback):
   * {@link #serve}'s paths, 404 for anything else.
   */
  public static io.vertx.core.Future<io.vertx.core.http.HttpServer> listen(
      io.vertx.core.Vertx vertx, String host, int port, View view) {
    return vertx
        .createHttpServer()
        .requestHandler(
            req -> {
              if (!serve(req, view)) {
                req.response().setStatusCode(404).end();
              }
            })
        .listen(port, host);
  }

  /**
   * Answers a proxy admin request, Envoy's paths: {@code GET /ready} (200 LIVE or 503
   * PRE_INITIALIZING), {@code /config_dump} (JSON), {@code /clusters} (text, or Envoy's JSON with
   * {@code ?format=json}) and {@code /stats/prometheus} (text). Returns false, answering nothing,
   * for any other request.
   */
  public static boolean serve(io.vertx.core.http.HttpServerRequest req, View view) {
    if (req.method() != io.vertx.core.http.HttpMethod.GET) {
      return false;
    }
    switch (req.path()) {
      case "/ready" -> {
        boolean ready = view.ready();
        req.response()
            .setStatusCode(ready ? 200 : 503)
            .putHeader("content-type", "text/plain")
            .end(ready ? "LIVE\n" : "PRE_INITIALIZING\n");
      }
      case "/config_dump" ->
          answer(req, "application/json", () -> Json.MAPPER.writeValueAsString(view.configDump()));
      case "/clusters" -> {
        if ("json".equals(req.getParam("format"))) {
          answer(
              req,
              "application/json",
              () -> Json.MAPPER.writeValueAsString(clusterStatuses(view.config())));
        } else {
          answer(req, "text/plain", () -> clusters(view.config()));
        }
      }
      case "/certs" ->
          answer(
              req,
              "application/json",
              () -> Json.MAPPER.writeValueAsString(certs(view.certificates())));
      case "/stats/prometheus" ->
          answer(req, "text/plain; version=0.0.4; charset=utf-8", view::prometheus);
      default -> {
        return false;
      }
    }
    return true;
  }

  /**
   * Answers with a body rendered on a worker thread: a dump walks the whole config and a scrape
   * every series (megabytes for a large mesh), and the admin's event loop may be one that carries
   * proxied requests, which must not wait for it (Envoy's admin has a thread of its own).
   */
  private static void answer(
      io.vertx.core.http.HttpServerRequest req,
      String contentType,
      java.util.concurrent.Callable<String> body) {
    io.vertx.core.Vertx.currentContext()
        .owner()
        .executeBlocking(body, false)
        .onSuccess(b -> req.response().putHeader("content-type", contentType).end(b))
        .onFailure(e -> req.response().setStatusCode(500).end(String.valueOf(e.getMessage())));
  }

  /**
   * Envoy's {@code /certs}: the workload's certificate chain ({@code cert_chain}) and the roots it
   * trusts ({@code ca_cert}), each with its serial, SANs and validity; qmesh adds the identity, the
   * PEM of each secret (Istio's {@code default} and {@code ROOTCA}), the next renewal and the last
   * error talking to the CA.
   */
  public static Map<String, Object> certs(io.qmesh.proxy.security.WorkloadCertificates certs) {
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    List<Object> list = new java.util.ArrayList<>();
    out.put("certificates", list);
    if (certs == null) {
      return out;
    }
    var b = certs.current();
    Map<String, Object> entry = new java.util.LinkedHashMap<>();
    entry.put("ca_cert", certs.roots().stream().map(Admin::certDetails).toList());
    entry.put(
        "cert_chain",
        b == null
            ? List.of()
            : b.chain().stream()
                .limit(Math.max(1, b.chain().size() - 1))
                .map(Admin::certDetails)
                .toList());
    list.add(entry);
    out.put("identity", certs.identity());
    out.put("next_renewal", certs.nextRenewal() == null ? null : certs.nextRenewal().toString());
    out.put("last_error", certs.lastError());
    out.put("root_pem", io.qmesh.ca.Pem.encode(certs.roots()));
    out.put("chain_pem", b == null ? null : io.qmesh.ca.Pem.encode(b.chain()));
    return out;
  }

  private static Map<String, Object> certDetails(java.security.cert.X509Certificate c) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("path", "<inline>");
    m.put("serial_number", c.getSerialNumber().toString(16));
    List<Object> sans = new java.util.ArrayList<>();
    try {
      if (c.getSubjectAlternativeNames() != null) {
        for (List<?> san : c.getSubjectAlternativeNames()) {
          Object kind = san.get(0);
          String key =
              Integer.valueOf(6).equals(kind)
                  ? "uri"
                  : Integer.valueOf(2).equals(kind)
                      ? "dns"
                      : Integer.valueOf(7).equals(kind) ? "ip_address" : "other";
          sans.add(Map.of(key, String.valueOf(san.get(1))));
        }
      }
    } catch (java.security.cert.CertificateParsingException e) {
      sans.add(Map.of("error", e.getMessage()));
    }
    m.put("subject_alt_names", sans);
    m.put("subject", c.getSubjectX500Principal().getName());
    long days =
        java.time.Duration.between(java.time.Instant.now(), c.getNotAfter().toInstant()).toDays();
    m.put("days_until_expiration", String.valueOf(days));
    m.put("valid_from", c.getNotBefore().toInstant().toString());
    m.put("expiration_time", c.getNotAfter().toInstant().toString());
    return m;
  }

  /**
   * The node, the versions applied, the names of the listeners, route configs and clusters with
   * their hosts, and under {@code configs} every resource as Envoy JSON (what {@code qmesh
   * proxy-config} reads).
   */
  public static Map<String, Object> configDump(Node node, XdsClient xds, ProxyConfig config) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("node", node == null ? "" : node.getId());
    out.put("versions", xds == null ? Map.of() : xds.versions());
    XdsResources r = xds == null ? XdsResources.EMPTY : xds.resources();
    out.put("listeners", List.copyOf(new TreeMap<>(r.listeners()).keySet()));
    out.put("routes", List.copyOf(new TreeMap<>(config.routes()).keySet()));
    Map<String, List<String>> clusters = new TreeMap<>();
    config
        .clusters()
        .forEach(
            (name, c) -> clusters.put(name, c.hosts().stream().map(Object::toString).toList()));
    out.put("clusters", clusters);
    Map<String, Object> configs = new LinkedHashMap<>();
    configs.put("listeners", json(r.listeners()));
    configs.put("routes", json(r.routes()));
    configs.put("clusters", json(r.clusters()));
    configs.put("endpoints", json(r.endpoints()));
    out.put("configs", configs);
    return out;
  }

  /**
   * Envoy's {@code /clusters} text: a line per host of each cluster, {@code
   * cluster::host:port::health_flags::healthy} (or {@code /failed_outlier_check} while outlier
   * detection has ejected it), {@code ...::weight::N} and {@code ...::rq_active::N}.
   */
  public static String clusters(ProxyConfig config) {
    StringBuilder out = new StringBuilder();
    new TreeMap<>(config.clusters())
        .forEach(
            (name, c) ->
                c.hosts()
                    .forEach(
                        h -> {
                          String prefix = name + "::" + h.hostPort() + "::";
                          out.append(prefix)
                              .append("health_flags::")
                              .append(h.ejected() ? "/failed_outlier_check" : "healthy")
                              .append('\n');
                          out.append(prefix).append("weight::").append(h.weight()).append('\n');
                          out.append(prefix).append("rq_active::").append(h.active()).append('\n');
                        }));
    return out.toString();
  }

  /**
   * Envoy's {@code /clusters?format=json}: per cluster its hosts with address, weight, requests in
   * flight and health ({@code failed_outlier_check} while ejected), which {@code qmesh proxy-config
   * endpoints} shows as istioctl does.
   */
  public static Map<String, Object> clusterStatuses(ProxyConfig config) {
    List<Object> statuses = new ArrayList<>();
    new TreeMap<>(config.clusters())
        .forEach(
            (name, c) -> {
              List<Object> hosts = new ArrayList<>();
              for (var h : c.hosts()) {
                Map<String, Object> health = new LinkedHashMap<>();
                health.put("eds_health_status", "HEALTHY");
                if (h.ejected()) {
                  health.put("failed_outlier_check", true);
                }
                hosts.add(
                    Map.of(
                        "address",
                        Map.of(
                            "socket_address",
                            Map.of("address", h.address(), "port_value", h.port())),
                        "weight",
                        h.weight(),
                        "stats",
                        List.of(Map.of("name", "rq_active", "value", h.active())),
                        "health_status",
                        health));
              }
              statuses.add(Map.of("name", name, "host_statuses", hosts));
            });
    return Map.of("cluster_statuses", statuses);
  }

  private static List<JsonNode> json(Map<String, ? extends Message> resources) {
    return new TreeMap<>(resources).values().stream().map(Admin::json).toList();
  }

  private static JsonNode json(Message m) {
    try {
      return Json.MAPPER.readTree(Json.PRINTER.print(m));
    } catch (InvalidProtocolBufferException e) {
      return Json.MAPPER
          .createObjectNode()
          .put("@type", m.getDescriptorForType().getFullName())
          .put("error", "cannot print: " + e.getMessage());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
