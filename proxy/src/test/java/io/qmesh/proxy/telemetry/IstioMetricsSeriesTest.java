package io.qmesh.proxy.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Recording finds each request's own series, whether or not it is the one recorded before. */
class IstioMetricsSeriesTest {

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final IstioMetrics metrics =
      new IstioMetrics(
          registry,
          IstioMetrics.Reporter.SOURCE,
          Peer.of("productpage-v1", "default", Map.of("app", "productpage"), null),
          "sidecar~127.0.0.1~productpage-v1-1.default~default.svc.cluster.local");
  private final Peer reviews =
      Peer.of("reviews-v2", "default", Map.of("app", "reviews", "version", "v2"), null);

  private void record(Peer peer, String principal, String service, int code, String flags) {
    metrics.record(peer, principal, service, false, code, null, flags, 1.5, 10, 20, 0);
  }

  private double count(String label, String value) {
    return registry.get("istio_requests").tags(label, value).counters().stream()
        .mapToDouble(c -> c.count())
        .sum();
  }

  @Test
  void eachPartOfTheKeyTellsSeriesApartEvenRightAfterAnother() {
    String service = "reviews.default.svc.cluster.local";
    record(reviews, null, service, 200, "-");
    // Equal values in other instances (a destination's service name is built per request): the
    // same series.
    record(reviews, null, new String(service), 200, new String("-"));
    record(reviews, null, service, 503, "-");
    record(reviews, null, service, 503, "UF");
    record(Peer.UNKNOWN, null, service, 503, "UF");
    record(Peer.UNKNOWN, "spiffe://cluster.local/ns/default/sa/reviews", service, 503, "UF");
    record(Peer.UNKNOWN, "spiffe://cluster.local/ns/default/sa/reviews", "ratings", 503, "UF");
    record(reviews, null, service, 200, "-");

    assertThat(registry.get("istio_requests").counters()).hasSize(6);
    assertThat(count("response_code", "200")).isEqualTo(3);
    assertThat(count("response_flags", "UF")).isEqualTo(4);
    assertThat(count("destination_workload", "unknown")).isEqualTo(3);
    assertThat(count("destination_principal", "spiffe://cluster.local/ns/default/sa/reviews"))
        .isEqualTo(2);
    assertThat(count("destination_service", "ratings")).isEqualTo(1);
  }
}
