package io.qmesh.proxy.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.zipkin.ZipkinSpanExporter;
import io.opentelemetry.extension.trace.propagation.B3Propagator;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.IdGenerator;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.vertx.core.MultiMap;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import zipkin2.reporter.urlconnection.URLConnectionSender;

/**
 * A proxy's tracing, as Envoy's tracers do it for Istio: per request, the trace context is read
 * from the request (B3 {@code x-b3-*}, else W3C {@code traceparent}), a sampling decision is taken
 * (the caller's, else the connection manager's random sampling), a span is made for this hop, and
 * its context goes on to the upstream (B3 multi-header for Zipkin, W3C {@code traceparent} for
 * OpenTelemetry, and whatever format the caller used). Sampled spans are exported in batches by the
 * OpenTelemetry SDK, to Zipkin (JSON v2) or an OTLP/HTTP collector; a request that is not sampled
 * costs two ids and the headers.
 *
 * <p>Spans carry Istio's tags: {@code istio.canonical_service}, {@code istio.canonical_revision},
 * {@code istio.namespace}, {@code istio.mesh_id}, {@code node_id}, {@code component}, {@code
 * http.*}, {@code upstream_cluster}, {@code response_flags}, {@code guid:x-request-id}. The
 * process's service name is Istio's {@code <canonical service>.<namespace>}.
 */
public final class Tracers implements AutoCloseable {

  private static final TextMapPropagator PROPAGATOR =
      TextMapPropagator.composite(
          W3CTraceContextPropagator.getInstance(), B3Propagator.injectingMultiHeaders());

  private static final TextMapGetter<MultiMap> GETTER =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(MultiMap carrier) {
          return carrier.names();
        }

        @Override
        public String get(MultiMap carrier, String key) {
          return carrier == null ? null : carrier.get(key);
        }
      };

  private static final IdGenerator IDS = IdGenerator.random();
  private static final CharSequence B3_PARENT = header("x-b3-parentspanid");
  private static final CharSequence B3_SINGLE_HEADER = header("b3");
  private static final CharSequence B3_TRACE_ID = header("x-b3-traceid");
  private static final CharSequence B3_SPAN_ID = header("x-b3-spanid");
  private static final CharSequence B3_SAMPLED = header("x-b3-sampled");
  private static final CharSequence TRACEPARENT = header("traceparent");

  private static CharSequence header(String name) {
    return io.vertx.core.http.HttpHeaders.createOptimized(name);
  }

  private final String serviceName;
  private final Map<TracePolicy.Collector, Tracer> tracers = new ConcurrentHashMap<>();
  private final Map<TracePolicy.Collector, SdkTracerProvider> providers = new ConcurrentHashMap<>();
  private final Attributes identity;

  public Tracers(Peer self, String nodeId) {
    this.serviceName = self.canonicalService() + "." + self.namespace();
    this.identity =
        Attributes.builder()
            .put("istio.canonical_service", self.canonicalService())
            .put("istio.canonical_revision", self.canonicalRevision())
            .put("istio.namespace", self.namespace())
            .put("istio.mesh_id", "cluster.local")
            .put("istio.cluster_id", self.cluster())
            .put("node_id", nodeId)
            .put("component", "proxy")
            .build();
  }

  /** Istio's service name of this proxy's spans: {@code <canonical service>.<namespace>}. */
  public String serviceName() {
    return serviceName;
  }

  /** The propagation formats a trace context is written in (bits of {@link Trace#formats}). */
  static final int W3C = 1;

  static final int B3_MULTI = 2;
  static final int B3_SINGLE = 4;

  /**
   * This hop's trace context: the span reported (null when the request is not sampled or nothing is
   * reported), and what goes upstream, in which formats.
   */
  public record Trace(
      Span span, String traceId, String spanId, boolean sampled, String parentSpanId, int formats) {

    /**
     * Writes the context into the upstream request's headers: B3 multi-header (with {@code
     * x-b3-parentspanid} the caller's span, as Envoy's Zipkin tracer writes it), W3C {@code
     * traceparent}, and a B3 single header when the caller sent one, so no stale context goes on.
     */
    public void inject(MultiMap headers) {
      if ((formats & W3C) != 0) {
        headers.set(
            TRACEPARENT,
            new StringBuilder(55)
                .append("00-")
                .append(traceId)
                .append('-')
                .append(spanId)
                .append(sampled ? "-01" : "-00")
                .toString());
      }
      if ((formats & B3_MULTI) != 0) {
        headers.set(B3_TRACE_ID, traceId);
        headers.set(B3_SPAN_ID, spanId);
        headers.set(B3_SAMPLED, sampled ? "1" : "0");
        if (parentSpanId != null) {
          headers.set(B3_PARENT, parentSpanId);
        } else {
          headers.remove(B3_PARENT);
        }
      }
      if ((formats & B3_SINGLE) != 0) {
        headers.set(B3_SINGLE_HEADER, traceId + "-" + spanId + "-" + (sampled ? "1" : "0"));
      }
    }
  }

  /**
   * Starts this hop's trace: reads the caller's context from the request's {@code headers} and
   * decides. The request's headers are left as they are; {@link Trace#inject} writes the new
   * context into the upstream request's: in the collector's own format (B3 for Zipkin, as Envoy's
   * Zipkin tracer; W3C for OpenTelemetry, as Envoy's OpenTelemetry tracer; both when nothing is
   * reported), and in every format the caller used, so a context is never lost on the way.
   *
   * @param operation the span's name the route gives (its decorator), or null for Envoy's default,
   *     {@code authority + path}
   */
  public Trace start(
      MultiMap headers,
      TracePolicy policy,
      SpanKind kind,
      String operation,
      String authority,
      String path) {
    // Most requests at an edge carry no context: no parsing then.
    boolean b3Single = headers.contains(B3_SINGLE_HEADER);
    boolean w3c = headers.contains(TRACEPARENT);
    boolean b3Multi = headers.contains(B3_TRACE_ID);
    Context parent =
        b3Single || w3c || b3Multi
            ? PROPAGATOR.extract(Context.root(), headers, GETTER)
            : Context.root();
    TracePolicy.Collector collector = policy.collector();
    int formats =
        (collector == null
                ? W3C | B3_MULTI
                : collector.kind() == TracePolicy.Kind.ZIPKIN ? B3_MULTI : W3C)
            | (w3c ? W3C : 0)
            | (b3Multi ? B3_MULTI : 0)
            | (b3Single ? B3_SINGLE | B3_MULTI : 0);
    SpanContext incoming = Span.fromContext(parent).getSpanContext();
    String parentSpanId = incoming.isValid() ? incoming.getSpanId() : null;
    boolean sampled =
        incoming.isValid()
            ? incoming.isSampled()
            : policy.sampling() > 0
                && (policy.sampling() >= 1
                    || ThreadLocalRandom.current().nextDouble() < policy.sampling());
    if (!sampled || collector == null) {
      return new Trace(
          null,
          incoming.isValid() ? incoming.getTraceId() : IDS.generateTraceId(),
          IDS.generateSpanId(),
          sampled,
          parentSpanId,
          formats);
    }
    Span span =
        tracer(collector)
            // The route's operation name, else Envoy's default: the request's host and path (made
            // only for a span that is reported: most requests are not sampled).
            .spanBuilder(operation != null ? operation : authority + path)
            .setParent(parent)
            .setSpanKind(kind)
            .setAllAttributes(identity)
            .startSpan();
    SpanContext c = span.getSpanContext();
    return new Trace(span, c.getTraceId(), c.getSpanId(), true, parentSpanId, formats);
  }

  /** Sets a custom tag's value on a span. */
  public static void tag(Span span, String name, String value) {
    if (value != null) {
      span.setAttribute(AttributeKey.stringKey(name), value);
    }
  }

  private Tracer tracer(TracePolicy.Collector c) {
    Tracer t = tracers.get(c);
    return t != null ? t : tracers.computeIfAbsent(c, this::create);
  }

  private Tracer create(TracePolicy.Collector c) {
    SpanExporter exporter =
        c.kind() == TracePolicy.Kind.ZIPKIN
            ? ZipkinSpanExporter.builder()
                // Plain JSON, as Envoy's Zipkin tracer posts it: gzip took a third of the
                // exporter's CPU in the benchmark's profile, spent on the proxy's core to save
                // bytes on a loopback or in-cluster hop.
                .setSender(
                    URLConnectionSender.newBuilder()
                        .endpoint(c.url())
                        .compressionEnabled(false)
                        .build())
                .build()
            : OtlpHttpSpanExporter.builder().setEndpoint(c.url()).build();
    SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .setSampler(Sampler.alwaysOn())
            .setResource(
                Resource.getDefault()
                    .merge(
                        Resource.create(
                            Attributes.of(AttributeKey.stringKey("service.name"), serviceName))))
            .addSpanProcessor(
                BatchSpanProcessor.builder(exporter)
                    .setScheduleDelay(Duration.ofSeconds(1))
                    .setMaxQueueSize(8192)
                    .build())
            .build();
    providers.put(c, provider);
    return provider.get("io.qmesh.proxy");
  }

  /** Exports what is queued and stops the exporters. */
  @Override
  public void close() {
    providers.values().forEach(p -> p.shutdown().join(5, TimeUnit.SECONDS));
  }
}
