package io.qmesh.pilot.translate;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ComparisonFilter;
import io.envoyproxy.envoy.config.accesslog.v3.StatusCodeFilter;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HttpService;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.core.v3.RuntimeUInt32;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.config.trace.v3.ZipkinConfig;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.envoyproxy.envoy.type.v3.Percent;
import io.fabric8.istio.api.api.telemetry.v1alpha1.AccessLogging;
import io.fabric8.istio.api.api.telemetry.v1alpha1.MetricSelector;
import io.fabric8.istio.api.api.telemetry.v1alpha1.MetricSelectorIstioMetric;
import io.fabric8.istio.api.api.telemetry.v1alpha1.MetricSelectorMetric;
import io.fabric8.istio.api.api.telemetry.v1alpha1.Metrics;
import io.fabric8.istio.api.api.telemetry.v1alpha1.MetricsOverrides;
import io.fabric8.istio.api.api.telemetry.v1alpha1.ProviderRef;
import io.fabric8.istio.api.api.telemetry.v1alpha1.Telemetry;
import io.fabric8.istio.api.api.telemetry.v1alpha1.Tracing;
import io.fabric8.istio.api.api.telemetry.v1alpha1.TracingCustomTag;
import io.fabric8.istio.api.api.telemetry.v1alpha1.TracingCustomTagEnvironment;
import io.fabric8.istio.api.api.telemetry.v1alpha1.TracingCustomTagHeader;
import io.fabric8.istio.api.api.telemetry.v1alpha1.TracingCustomTagLiteral;
import io.fabric8.istio.api.api.telemetry.v1alpha1.WorkloadMode;
import io.qmesh.api.MeshNames;
import io.qmesh.pilot.model.MeshConfig;
import io.qmesh.pilot.model.MeshService;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.Named;
import io.qmesh.pilot.model.ProxyNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tracing, access logs and metric overrides on a connection manager, as Istio derives them from the
 * mesh config and the {@code Telemetry} resources that apply to a proxy: mesh-wide (root namespace,
 * no selector), then the proxy's namespace, then those whose selector matches the proxy, each more
 * specific one overriding what it sets. The client side (outbound, gateways) and the server side
 * (inbound) are resolved apart, by each entry's {@code match.mode}.
 */
public final class Observability {

  static final String ZIPKIN = "envoy.tracers.zipkin";
  static final String OPENTELEMETRY = "envoy.tracers.opentelemetry";
  static final String FILE_LOG = "envoy.access_loggers.file";

  /** Istio's default text access log format. */
  public static final String TEXT_FORMAT =
      "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
          + "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% "
          + "%CONNECTION_TERMINATION_DETAILS% \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" "
          + "%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "
          + "\"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" "
          + "\"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW% "
          + "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
          + "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";

  /** Istio's default JSON access log fields, in Istio's order. */
  public static final Map<String, String> JSON_FORMAT = jsonFormat();

  /** The tracing providers qmesh knows by name, and what each exports to. */
  public static final Set<String> TRACING_PROVIDERS =
      Set.of("zipkin", "opentelemetry", "otel", "otel-tracing", "jaeger", "none");

  /** The access log providers: Istio's {@code envoy} file logger. */
  public static final Set<String> ACCESS_LOG_PROVIDERS = Set.of("envoy");

  /** Which side of a proxy a connection manager is. */
  enum Mode {
    CLIENT,
    SERVER
  }

  private static final Pattern STATUS_FILTER =
      Pattern.compile("\\s*response\\.code\\s*(>=|<=|==|>|<)\\s*(\\d{1,3})\\s*");

  private Observability() {}

  /** The Telemetry resources that apply to a proxy, most general first. */
  static List<Named<Telemetry>> applicable(MeshSnapshot mesh, ProxyNode proxy) {
    List<Named<Telemetry>> root = new ArrayList<>();
    List<Named<Telemetry>> namespace = new ArrayList<>();
    List<Named<Telemetry>> workload = new ArrayList<>();
    for (Named<Telemetry> t : mesh.telemetries()) {
      var selector = t.spec().getSelector();
      boolean selects = selector != null && !selector.getMatchLabels().isEmpty();
      if (!selects && t.namespace().equals(MeshNames.ROOT_NAMESPACE)) {
        root.add(t);
      } else if (t.namespace().equals(proxy.namespace())) {
        if (!selects) {
          namespace.add(t);
        } else if (proxy.labels().entrySet().containsAll(selector.getMatchLabels().entrySet())) {
          workload.add(t);
        }
      }
    }
    List<Named<Telemetry>> out = new ArrayList<>(root);
    if (!proxy.namespace().equals(MeshNames.ROOT_NAMESPACE)) {
      out.addAll(namespace);
    }
    out.addAll(workload);
    return out;
  }

  /** What this translation depends on for a proxy, for outbound sharing. */
  static String shape(MeshSnapshot mesh, ProxyNode proxy) {
    return applicable(mesh, proxy).stream().map(Named::ref).toList().toString();
  }

  /**
   * Adds the tracing, access logs and metric overrides that apply to {@code proxy}'s {@code mode}
   * side: the stats filter (when a metric is dropped) goes before the router, where Istio puts it.
   */
  static HttpConnectionManager.Builder observe(
      HttpConnectionManager.Builder hcm, MeshSnapshot mesh, ProxyNode proxy, Mode mode) {
    List<Named<Telemetry>> telemetries = applicable(mesh, proxy);
    tracing(mesh, telemetries, mode).ifPresent(hcm::setTracing);
    hcm.addAllAccessLog(accessLogs(mesh.meshConfig(), telemetries, mode));
    statsConfig(telemetries, mode)
        .ifPresent(
            config ->
                // Every connection manager ends with the router (ResourceValidator checks it).
                hcm.addHttpFilters(
                    hcm.getHttpFiltersCount() - 1,
                    HttpFilter.newBuilder().setName(STATS_FILTER).setTypedConfig(config).build()));
    return hcm;
  }

  /**
   * A TCP proxy's filters on {@code proxy}'s {@code mode} side: the stats filter when a metric is
   * dropped, then the proxy with its access logs.
   */
  static List<Filter> tcpFilters(
      MeshSnapshot mesh, ProxyNode proxy, Mode mode, String statPrefix, String cluster) {
    List<Named<Telemetry>> telemetries = applicable(mesh, proxy);
    List<Filter> out = new ArrayList<>();
    statsConfig(telemetries, mode)
        .ifPresent(
            c -> out.add(Filter.newBuilder().setName(STATS_FILTER).setTypedConfig(c).build()));
    out.add(Envoy.tcpProxy(statPrefix, cluster, accessLogs(mesh.meshConfig(), telemetries, mode)));
    return out;
  }

  /** Istio's stats filter, HTTP and network. */
  static final String STATS_FILTER = "istio.stats";

  /**
   * Istio's standard metrics by their Telemetry API names, as its stats plugin config names them.
   */
  private static final Map<MetricSelectorIstioMetric, String> METRIC_NAMES =
      Map.of(
          MetricSelectorIstioMetric.REQUEST_COUNT, "requests_total",
          MetricSelectorIstioMetric.REQUEST_DURATION, "request_duration_milliseconds",
          MetricSelectorIstioMetric.REQUEST_SIZE, "request_bytes",
          MetricSelectorIstioMetric.RESPONSE_SIZE, "response_bytes",
          MetricSelectorIstioMetric.TCP_OPENED_CONNECTIONS, "tcp_connections_opened_total",
          MetricSelectorIstioMetric.TCP_CLOSED_CONNECTIONS, "tcp_connections_closed_total",
          MetricSelectorIstioMetric.TCP_SENT_BYTES, "tcp_sent_bytes_total",
          MetricSelectorIstioMetric.TCP_RECEIVED_BYTES, "tcp_received_bytes_total",
          MetricSelectorIstioMetric.GRPC_REQUEST_MESSAGES, "request_messages_total",
          MetricSelectorIstioMetric.GRPC_RESPONSE_MESSAGES, "response_messages_total");

  /** The metrics provider whose overrides qmesh's proxies apply (Istio's default). */
  public static final String METRICS_PROVIDER = "prometheus";

  /**
   * The metrics the Telemetry resources drop on {@code mode}'s side, as Istio resolves {@code
   * metrics[].overrides}: most general resource first, each override in order, a later one for the
   * same metric and side winning ({@code disabled: false} brings a metric back). Entries for
   * another provider do not apply; custom metrics and tag overrides are not translated (the
   * validator says so).
   */
  private static java.util.SortedSet<String> droppedMetrics(
      List<Named<Telemetry>> telemetries, Mode mode) {
    java.util.SortedSet<String> dropped = new java.util.TreeSet<>();
    for (Named<Telemetry> t : telemetries) {
      for (Metrics m : t.spec().getMetrics()) {
        boolean ours =
            m.getProviders().isEmpty()
                || m.getProviders().stream().anyMatch(p -> METRICS_PROVIDER.equals(p.getName()));
        if (!ours) {
          continue;
        }
        for (MetricsOverrides o : m.getOverrides()) {
          MetricSelector match = o.getMatch();
          if (o.getDisabled() == null || (match != null && !applies(match.getMode(), mode))) {
            continue;
          }
          var which = match == null ? null : match.getMetricMatch();
          java.util.Collection<String> names;
          if (which == null) {
            names = METRIC_NAMES.values();
          } else if (which instanceof MetricSelectorMetric sm) {
            names =
                sm.getMetric() == null || sm.getMetric() == MetricSelectorIstioMetric.ALL_METRICS
                    ? METRIC_NAMES.values()
                    : List.of(METRIC_NAMES.get(sm.getMetric()));
          } else {
            continue; // a custom metric: qmesh reports none
          }
          if (o.getDisabled()) {
            dropped.addAll(names);
          } else {
            dropped.removeAll(names);
          }
        }
      }
    }
    return dropped;
  }

  /**
   * The stats filter's config for {@code mode}'s side (empty when nothing is dropped): Istio's
   * {@code stats.PluginConfig} as a TypedStruct, one {@code {name, drop: true}} per dropped metric.
   */
  private static Optional<Any> statsConfig(List<Named<Telemetry>> telemetries, Mode mode) {
    java.util.SortedSet<String> dropped = droppedMetrics(telemetries, mode);
    if (dropped.isEmpty()) {
      return Optional.empty();
    }
    com.google.protobuf.ListValue.Builder metrics = com.google.protobuf.ListValue.newBuilder();
    for (String name : dropped) {
      metrics.addValues(
          Value.newBuilder()
              .setStructValue(
                  Struct.newBuilder()
                      .putFields("name", Value.newBuilder().setStringValue(name).build())
                      .putFields("drop", Value.newBuilder().setBoolValue(true).build())));
    }
    return Optional.of(
        Any.pack(
            com.github.xds.type.v3.TypedStruct.newBuilder()
                .setTypeUrl("type.googleapis.com/stats.PluginConfig")
                .setValue(
                    Struct.newBuilder()
                        .putFields("metrics", Value.newBuilder().setListValue(metrics).build()))
                .build()));
  }

  private static boolean applies(WorkloadMode m, Mode mode) {
    return m == null || m == WorkloadMode.CLIENT_AND_SERVER || m.name().equals(mode.name());
  }

  private static Optional<HttpConnectionManager.Tracing> tracing(
      MeshSnapshot mesh, List<Named<Telemetry>> telemetries, Mode mode) {
    MeshConfig mc = mesh.meshConfig();
    boolean enabled = mc.enableTracing();
    String provider = mc.tracingProvider();
    double sampling = mc.sampling();
    boolean reporting = true;
    Map<String, TracingCustomTag> tags = new TreeMap<>();
    for (Named<Telemetry> t : telemetries) {
      for (Tracing tr : t.spec().getTracing()) {
        if (tr.getMatch() != null && !applies(tr.getMatch().getMode(), mode)) {
          continue;
        }
        enabled = true;
        if (!tr.getProviders().isEmpty()) {
          provider = tr.getProviders().get(0).getName();
        }
        if (tr.getRandomSamplingPercentage() != null) {
          sampling = tr.getRandomSamplingPercentage();
        }
        if (tr.getDisableSpanReporting() != null) {
          reporting = !tr.getDisableSpanReporting();
        }
        if (!tr.getCustomTags().isEmpty()) {
          tags = new TreeMap<>(tr.getCustomTags());
        }
      }
    }
    if (!enabled) {
      return Optional.empty();
    }
    HttpConnectionManager.Tracing.Builder out =
        HttpConnectionManager.Tracing.newBuilder()
            .setRandomSampling(Percent.newBuilder().setValue(sampling))
            .setClientSampling(Percent.newBuilder().setValue(100))
            .setOverallSampling(Percent.newBuilder().setValue(100));
    if (reporting) {
      collector(mesh, provider)
          .ifPresent(
              c ->
                  out.setProvider(
                      io.envoyproxy.envoy.config.trace.v3.Tracing.Http.newBuilder()
                          .setName(c.zipkin() ? ZIPKIN : OPENTELEMETRY)
                          .setTypedConfig(c.config())));
    }
    tags.forEach((name, tag) -> customTag(name, tag).ifPresent(out::addCustomTags));
    return Optional.of(out.build());
  }

  private static Optional<CustomTag> customTag(String name, TracingCustomTag tag) {
    CustomTag.Builder out = CustomTag.newBuilder().setTag(name);
    var type = tag.getType();
    if (type instanceof TracingCustomTagLiteral l && l.getLiteral() != null) {
      return Optional.of(
          out.setLiteral(
                  CustomTag.Literal.newBuilder().setValue(nullToEmpty(l.getLiteral().getValue())))
              .build());
    }
    if (type instanceof TracingCustomTagHeader h && h.getHeader() != null) {
      return Optional.of(
          out.setRequestHeader(
                  CustomTag.Header.newBuilder()
                      .setName(nullToEmpty(h.getHeader().getName()))
                      .setDefaultValue(nullToEmpty(h.getHeader().getDefaultValue())))
              .build());
    }
    if (type instanceof TracingCustomTagEnvironment e && e.getEnvironment() != null) {
      return Optional.of(
          out.setEnvironment(
                  CustomTag.Environment.newBuilder()
                      .setName(nullToEmpty(e.getEnvironment().getName()))
                      .setDefaultValue(nullToEmpty(e.getEnvironment().getDefaultValue())))
              .build());
    }
    return Optional.empty();
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  /** A tracing provider's collector: its cluster and the tracer's config. */
  private record Collector(boolean zipkin, String cluster, String host, int port, Any config) {}

  private static Optional<Collector> collector(MeshSnapshot mesh, String provider) {
    if (provider == null || !TRACING_PROVIDERS.contains(provider) || provider.equals("none")) {
      return Optional.empty();
    }
    MeshConfig mc = mesh.meshConfig();
    boolean zipkin = provider.equals("zipkin");
    String address = zipkin ? mc.zipkinAddress() : mc.otlpAddress();
    int colon = address.lastIndexOf(':');
    if (colon <= 0) {
      return Optional.empty();
    }
    String host = address.substring(0, colon);
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    String cluster =
        meshService(mesh, host)
            .map(s -> MeshNames.outboundCluster(port, null, s.hostname()))
            .orElse(zipkin ? "zipkin" : "opentelemetry");
    Any config =
        zipkin
            ? Any.pack(
                ZipkinConfig.newBuilder()
                    .setCollectorCluster(cluster)
                    .setCollectorEndpoint("/api/v2/spans")
                    .setCollectorEndpointVersion(ZipkinConfig.CollectorEndpointVersion.HTTP_JSON)
                    .setTraceId128Bit(true)
                    .setSharedSpanContext(com.google.protobuf.BoolValue.of(false))
                    .build())
            : Any.pack(
                OpenTelemetryConfig.newBuilder()
                    .setHttpService(
                        HttpService.newBuilder()
                            .setHttpUri(
                                HttpUri.newBuilder()
                                    .setUri("http://" + address + "/v1/traces")
                                    .setCluster(cluster)
                                    .setTimeout(Envoy.duration(Duration.ofSeconds(10)))))
                    .build());
    return Optional.of(new Collector(zipkin, cluster, host, port, config));
  }

  private static Optional<MeshService> meshService(MeshSnapshot mesh, String host) {
    Optional<MeshService> s = mesh.service(host);
    if (s.isEmpty() && host.chars().filter(ch -> ch == '.').count() == 1) {
      s = mesh.service(host + ".svc.cluster.local");
    }
    return s;
  }

  /**
   * The clusters of the collectors that are not mesh services (whose outbound clusters exist
   * already): {@code zipkin} or {@code opentelemetry} to the configured address.
   */
  static List<Cluster> collectorClusters(MeshSnapshot mesh) {
    Set<String> providers = new java.util.TreeSet<>();
    if (mesh.meshConfig().enableTracing()) {
      providers.add(mesh.meshConfig().tracingProvider());
    }
    for (Named<Telemetry> t : mesh.telemetries()) {
      for (Tracing tr : t.spec().getTracing()) {
        tr.getProviders().stream().map(ProviderRef::getName).forEach(providers::add);
      }
    }
    Map<String, Cluster> out = new TreeMap<>();
    for (String p : providers) {
      collector(mesh, p)
          .filter(c -> !c.cluster().startsWith("outbound|"))
          .ifPresent(
              c -> {
                boolean ip = c.host().matches("[0-9.]+|.*:.*");
                out.putIfAbsent(
                    c.cluster(),
                    Cluster.newBuilder()
                        .setName(c.cluster())
                        .setType(
                            ip ? Cluster.DiscoveryType.STATIC : Cluster.DiscoveryType.STRICT_DNS)
                        .setConnectTimeout(Envoy.duration(Duration.ofSeconds(10)))
                        .setLoadAssignment(
                            ClusterLoadAssignment.newBuilder()
                                .setClusterName(c.cluster())
                                .addEndpoints(
                                    LocalityLbEndpoints.newBuilder()
                                        .addLbEndpoints(
                                            LbEndpoint.newBuilder()
                                                .setEndpoint(
                                                    io.envoyproxy.envoy.config.endpoint.v3.Endpoint
                                                        .newBuilder()
                                                        .setAddress(
                                                            Envoy.address(c.host(), c.port()))))))
                        .build());
              });
    }
    return List.copyOf(out.values());
  }

  private static List<AccessLog> accessLogs(
      MeshConfig mc, List<Named<Telemetry>> telemetries, Mode mode) {
    boolean on = !mc.accessLogFile().isEmpty();
    String filter = null;
    for (Named<Telemetry> t : telemetries) {
      for (AccessLogging al : t.spec().getAccessLogging()) {
        if (al.getMatch() != null && !applies(al.getMatch().getMode(), mode)) {
          continue;
        }
        if (Boolean.TRUE.equals(al.getDisabled())) {
          on = false;
          continue;
        }
        on =
            al.getProviders().isEmpty()
                || al.getProviders().stream()
                    .anyMatch(p -> ACCESS_LOG_PROVIDERS.contains(p.getName()));
        filter = al.getFilter() == null ? null : al.getFilter().getExpression();
      }
    }
    if (!on) {
      return List.of();
    }
    String path = mc.accessLogFile().isEmpty() ? "/dev/stdout" : mc.accessLogFile();
    SubstitutionFormatString.Builder format = SubstitutionFormatString.newBuilder();
    if (mc.accessLogEncoding().equalsIgnoreCase("JSON")) {
      Struct.Builder json = Struct.newBuilder();
      JSON_FORMAT.forEach(
          (k, v) -> json.putFields(k, Value.newBuilder().setStringValue(v).build()));
      format.setJsonFormat(json);
    } else {
      String text = mc.accessLogFormat().isEmpty() ? TEXT_FORMAT : mc.accessLogFormat();
      format.setTextFormatSource(DataSource.newBuilder().setInlineString(text));
    }
    AccessLog.Builder log =
        AccessLog.newBuilder()
            .setName(FILE_LOG)
            .setTypedConfig(
                Any.pack(FileAccessLog.newBuilder().setPath(path).setLogFormat(format).build()));
    if (filter != null && !filter.isBlank()) {
      statusFilter(filter).ifPresent(log::setFilter);
    }
    return List.of(log.build());
  }

  /**
   * Whether an access log filter expression is one qmesh translates: a comparison of {@code
   * response.code} with a number, which becomes Envoy's status code filter.
   */
  public static boolean supportedFilter(String expression) {
    return STATUS_FILTER.matcher(expression).matches();
  }

  private static Optional<AccessLogFilter> statusFilter(String expression) {
    Matcher m = STATUS_FILTER.matcher(expression);
    if (!m.matches()) {
      return Optional.empty();
    }
    int value = Integer.parseInt(m.group(2));
    ComparisonFilter.Op op;
    switch (m.group(1)) {
      case ">=" -> op = ComparisonFilter.Op.GE;
      case "<=" -> op = ComparisonFilter.Op.LE;
      case ">" -> {
        op = ComparisonFilter.Op.GE;
        value++;
      }
      case "<" -> {
        op = ComparisonFilter.Op.LE;
        value--;
      }
      default -> op = ComparisonFilter.Op.EQ;
    }
    return Optional.of(
        AccessLogFilter.newBuilder()
            .setStatusCodeFilter(
                StatusCodeFilter.newBuilder()
                    .setComparison(
                        ComparisonFilter.newBuilder()
                            .setOp(op)
                            .setValue(
                                RuntimeUInt32.newBuilder()
                                    .setDefaultValue(value)
                                    .setRuntimeKey("access_log.status_filter"))))
            .build());
  }

  private static Map<String, String> jsonFormat() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("start_time", "%START_TIME%");
    m.put("route_name", "%ROUTE_NAME%");
    m.put("method", "%REQ(:METHOD)%");
    m.put("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%");
    m.put("protocol", "%PROTOCOL%");
    m.put("response_code", "%RESPONSE_CODE%");
    m.put("response_flags", "%RESPONSE_FLAGS%");
    m.put("response_code_details", "%RESPONSE_CODE_DETAILS%");
    m.put("connection_termination_details", "%CONNECTION_TERMINATION_DETAILS%");
    m.put("bytes_received", "%BYTES_RECEIVED%");
    m.put("bytes_sent", "%BYTES_SENT%");
    m.put("duration", "%DURATION%");
    m.put("upstream_service_time", "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%");
    m.put("x_forwarded_for", "%REQ(X-FORWARDED-FOR)%");
    m.put("user_agent", "%REQ(USER-AGENT)%");
    m.put("request_id", "%REQ(X-REQUEST-ID)%");
    m.put("authority", "%REQ(:AUTHORITY)%");
    m.put("upstream_host", "%UPSTREAM_HOST%");
    m.put("upstream_cluster", "%UPSTREAM_CLUSTER_RAW%");
    m.put("upstream_local_address", "%UPSTREAM_LOCAL_ADDRESS%");
    m.put("downstream_local_address", "%DOWNSTREAM_LOCAL_ADDRESS%");
    m.put("downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%");
    m.put("requested_server_name", "%REQUESTED_SERVER_NAME%");
    m.put("upstream_transport_failure_reason", "%UPSTREAM_TRANSPORT_FAILURE_REASON%");
    return java.util.Collections.unmodifiableMap(m);
  }
}
