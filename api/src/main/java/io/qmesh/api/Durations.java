package io.qmesh.api;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as Istio's YAML writes them (Go's syntax): {@code 7s}, {@code 0.5s}, {@code 100ms},
 * {@code 1m30s}, {@code 1h}.
 */
public final class Durations {

  private static final Pattern PART =
      Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)");

  private Durations() {}

  /**
   * @throws IllegalArgumentException saying what is wrong when the text is not a duration
   */
  public static Duration parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty duration");
    }
    String t = text.trim();
    Matcher m = PART.matcher(t);
    long nanos = 0;
    int end = 0;
    while (m.find() && m.start() == end) {
      double value = Double.parseDouble(m.group(1));
      long unit =
          switch (m.group(2)) {
            case "ns" -> 1L;
            case "us", "µs" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            default -> 3_600_000_000_000L;
          };
      nanos += Math.round(value * unit);
      end = m.end();
    }
    if (end != t.length() || end == 0) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a duration (write e.g. 500ms, 2s, 1.5s, 1m)");
    }
    return Duration.ofNanos(nanos);
  }
}
