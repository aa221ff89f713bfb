package io.qmesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.prometheus.client.CollectorRegistry;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

class CoarseClockTest {

  @Test
  void theWallTimeFollowsTheSystemClockATickAtATime() {
    long first = CoarseClock.INSTANCE.wallTime();

    Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> CoarseClock.INSTANCE.wallTime() > first);
    assertThat(Math.abs(System.currentTimeMillis() - CoarseClock.INSTANCE.wallTime()))
        .isLessThan(10 * CoarseClock.TICK_MILLIS);
    long t = System.nanoTime();
    assertThat(CoarseClock.INSTANCE.monotonicTime()).isBetween(t, System.nanoTime());
  }

  @Test
  void theWallTimeOfANanoTimeReadingIsTheSystemClocksToTheMillisecond() {
    for (int i = 0; i < 50; i++) {
      long before = System.currentTimeMillis();
      long at = CoarseClock.INSTANCE.wallMillisAt(System.nanoTime());
      long after = System.currentTimeMillis();
      // One millisecond either way: the tick's two readings are not the same instant.
      assertThat(at).isBetween(before - 1, after + 1);
    }
    // A reading from before: its own time, not the tick's.
    long earlier = System.nanoTime() - 5_000_000_000L;
    assertThat(CoarseClock.INSTANCE.wallMillisAt(earlier))
        .isBetween(System.currentTimeMillis() - 5_100, System.currentTimeMillis() - 4_900);
  }

  @Test
  void aPrometheusRegistryOnItRecordsHistogramsAsOnTheSystemClock() {
    PrometheusMeterRegistry registry =
        new PrometheusMeterRegistry(
            PrometheusConfig.DEFAULT, new CollectorRegistry(), CoarseClock.INSTANCE);
    DistributionSummary d =
        DistributionSummary.builder("istio_request_bytes")
            .serviceLevelObjectives(1, 10, 100)
            .register(registry);

    d.record(5);
    d.record(50);

    String scrape = registry.scrape();
    assertThat(scrape)
        .contains("istio_request_bytes_bucket{le=\"10.0\",} 1.0")
        .contains("istio_request_bytes_bucket{le=\"100.0\",} 2.0")
        .contains("istio_request_bytes_count 2.0")
        .contains("istio_request_bytes_max 50.0");
  }
}
