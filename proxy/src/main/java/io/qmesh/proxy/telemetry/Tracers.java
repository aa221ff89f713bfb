package io.qmesh.proxy.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
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
 * its context goes on to the upstream in both formats. Sampled spans are exported in batches by the
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

  private static final TextMapSetter<MultiMap> SETTER =
      (carrier, key, value) -> carrier.set(key, value);

  private static final IdGenerator IDS = IdGenerator.random();

  private final Peer self;
  private final String nodeId;
  private final String serviceName;
  private final Map<TracePolicy.Collector, Tracer> tracers = new ConcurrentHashMap<>();
  private final Map<TracePolicy.Collector, SdkTracerProvider> providers = new ConcurrentHashMap<>();
  private final Attributes identity;

  public Tracers(Peer self, String nodeId) {
    this.self = self;
    this.nodeId = nodeId;
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

  /**
   * Starts this hop's trace: reads the context from {@code headers}, decides, and writes the new
   * span's context back to {@code headers} (which go upstream).
   *
   * @return the span to end, or null when nothing is reported for this request
   */
  public Span start(MultiMap headers, TracePolicy policy, SpanKind kind, String name) {
    Context parent = PROPAGATOR.extract(Context.root(), headers, GETTER);
    SpanContext incoming = Span.fromContext(parent).getSpanContext();
    boolean sampled =
        incoming.isValid()
            ? incoming.isSampled()
            : policy.sampling() > 0
                && (policy.sampling() >= 1
                    || ThreadLocalRandom.current().nextDouble() < policy.sampling());
    if (!sampled || policy.collector() == null) {
      SpanContext next =
          SpanContext.create(
              incoming.isValid() ? incoming.getTraceId() : IDS.generateTraceId(),
              IDS.generateSpanId(),
              sampled ? TraceFlags.getSampled() : TraceFlags.getDefault(),
              TraceState.getDefault());
      PROPAGATOR.inject(Context.root().with(Span.wrap(next)), headers, SETTER);
      return null;
    }
    Span span =
        tracer(policy.collector())
            .spanBuilder(name)
            .setParent(parent)
            .setSpanKind(kind)
            .setAllAttributes(identity)
            .startSpan();
    PROPAGATOR.inject(Context.root().with(span), headers, SETTER);
    return span;
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
            ? ZipkinSpanExporter.builder().setSender(URLConnectionSender.create(c.url())).build()
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

  /** This proxy's identity, for tests and the admin. */
  public Peer self() {
    return self;
  }

  public String nodeId() {
    return nodeId;
  }
}
