package io.qmesh.proxy.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.vertx.core.MultiMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A hop's span name: the route's decorator, else Envoy's default, authority and path. */
class TracersTest {

  private final Tracers tracers =
      new Tracers(Peer.of("productpage-v1", "default", Map.of("app", "productpage"), null), "n");

  // Sampled and reported (to a port nothing listens on: the spans here are never exported).
  private final TracePolicy sampled =
      new TracePolicy(
          1.0,
          new TracePolicy.Collector(TracePolicy.Kind.ZIPKIN, "http://127.0.0.1:9/api/v2/spans"),
          List.of());

  @AfterEach
  void close() {
    tracers.close();
  }

  private String name(String operation) {
    Tracers.Trace t =
        tracers.start(
            MultiMap.caseInsensitiveMultiMap(),
            sampled,
            SpanKind.CLIENT,
            operation,
            "reviews:9080",
            "/reviews/0");
    ReadableSpan span = (ReadableSpan) t.span();
    t.span().end();
    return span.getName();
  }

  @Test
  void aSampledSpanIsNamedByTheRoutesDecoratorElseByAuthorityAndPath() {
    assertThat(name("reviews.default.svc.cluster.local:9080/*"))
        .isEqualTo("reviews.default.svc.cluster.local:9080/*");
    assertThat(name(null)).isEqualTo("reviews:9080/reviews/0");
  }

  @Test
  void anUnsampledRequestGetsIdsAndNoSpan() {
    Tracers.Trace t =
        tracers.start(
            MultiMap.caseInsensitiveMultiMap(),
            new TracePolicy(0, sampled.collector(), List.of()),
            SpanKind.CLIENT,
            null,
            "reviews:9080",
            "/reviews/0");
    assertThat(t.span()).isNull();
    assertThat(t.traceId()).hasSize(32);
    assertThat(t.spanId()).hasSize(16);
    assertThat(t.sampled()).isFalse();
  }
}
