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
        }) {
      assertThat(Pattern.compile("(?m)^" + series).matcher(scrape).find())
          .as(series + " in\n" + scrape)
          .isTrue();
    }
  }
}
