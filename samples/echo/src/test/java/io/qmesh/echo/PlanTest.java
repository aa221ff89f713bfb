package io.qmesh.echo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PlanTest {

  private static Plan decide(Map<String, List<String>> query) {
    return Plan.decide(query, 0, 503, new Random(1));
  }

  @Test
  void defaultsToAPlain200() {
    assertThat(decide(Map.of())).isEqualTo(new Plan(200, Duration.ZERO, List.of()));
  }

  @Test
  void statusDelayAndHeaders() {
    Plan plan =
        decide(
            Map.of(
                "status", List.of("503"),
                "delay", List.of("1m1.5s"),
                "header", List.of("X-A: 1", "x-b:two")));
    assertThat(plan.status()).isEqualTo(503);
    assertThat(plan.delay()).isEqualTo(Duration.ofMillis(61_500));
    assertThat(plan.headers()).containsExactly(Map.entry("X-A", "1"), Map.entry("x-b", "two"));
  }

  @Test
  void codesAreDrawnByWeight() {
    Random random = new Random(42);
    List<Plan.Slice> slices = Plan.parseCodes("503:1,200:3");
    int n = 20_000;
    int failures = 0;
    for (int i = 0; i < n; i++) {
      if (Plan.pick(slices, random) == 503) {
        failures++;
      }
    }
    // Expected 5000; the binomial standard deviation is about 61.
    assertThat(failures).isBetween(4700, 5300);
    assertThat(Plan.parseCodes("404")).containsExactly(new Plan.Slice(404, 1));
  }

  @Test
  void failFractionOverridesTheStatus() {
    Random random = new Random(7);
    int failed = 0;
    for (int i = 0; i < 10_000; i++) {
      if (Plan.decide(Map.of(), 0.25, 502, random).status() == 502) {
        failed++;
      }
    }
    assertThat(failed).isBetween(2300, 2700);
  }

  @Test
  void malformedParametersNameTheParameter() {
    assertThatThrownBy(() -> decide(Map.of("status", List.of("abc"))))
        .hasMessageStartingWith("status:");
    assertThatThrownBy(() -> decide(Map.of("status", List.of("700"))))
        .hasMessageStartingWith("status:");
    assertThatThrownBy(() -> decide(Map.of("codes", List.of("503:x"))))
        .hasMessageStartingWith("codes:");
    assertThatThrownBy(() -> decide(Map.of("codes", List.of("503:0"))))
        .hasMessageStartingWith("codes:");
    assertThatThrownBy(() -> decide(Map.of("codes", List.of("1:2:3"))))
        .hasMessageStartingWith("codes:");
    assertThatThrownBy(() -> decide(Map.of("delay", List.of("2 seconds"))))
        .hasMessageStartingWith("delay:");
    assertThatThrownBy(() -> decide(Map.of("header", List.of("novalue"))))
        .hasMessageStartingWith("header:");
  }

  @Test
  void durations() {
    assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("2s")).isEqualTo(Duration.ofSeconds(2));
    assertThat(Durations.parse("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(Durations.parse("250us")).isEqualTo(Duration.ofNanos(250_000));
    assertThatThrownBy(() -> Durations.parse("s")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Durations.parse("2")).isInstanceOf(IllegalArgumentException.class);
  }
}
