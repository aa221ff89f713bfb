package io.qmesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class JvmMetersTest {

  @Test
  void theDashboardsJvmAndProcessSeriesAreScraped() {
    PrometheusMeterRegistry registry =
        JvmMeters.bind(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));

    String scrape = registry.scrape();

    // The series the performance dashboard queries of every proxy, each with a value.
    for (String series :
        new String[] {
          "jvm_memory_used_bytes\\{area=\"heap\"",
          "jvm_threads_live_threads ",
          "process_cpu_time_ns_total ",
          "jvm_classes_loaded_classes ",
          "process_uptime_seconds ",
          "jvm_gc_pause_seconds_count\\{gc=\"",
        }) {
      assertThat(Pattern.compile("(?m)^" + series).matcher(scrape).find())
          .as(series + " in\n" + scrape)
          .isTrue();
    }
  }

  @Test
  void collectionsAreReadFromTheCollectorsBeansNotFromNotifications() {
    PrometheusMeterRegistry registry =
        JvmMeters.bind(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));

    // Read when scraped: a meter per collector, whose count follows the collector's bean. A
    // binder that listens to GC notifications (Micrometer's JvmGcMetrics) registers a Timer.
    var pauses = registry.find("jvm.gc.pause").meters();
    assertThat(pauses)
        .isNotEmpty()
        .allSatisfy(
            m -> assertThat(m).isInstanceOf(io.micrometer.core.instrument.FunctionTimer.class));
    long before = collections();
    System.gc();
    long after = collections();
    assertThat(after).isGreaterThan(before);
    assertThat(
            pauses.stream()
                .mapToDouble(m -> ((io.micrometer.core.instrument.FunctionTimer) m).count())
                .sum())
        .isGreaterThanOrEqualTo(after);
  }

  private static long collections() {
    return java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
        .mapToLong(java.lang.management.GarbageCollectorMXBean::getCollectionCount)
        .sum();
  }
}
