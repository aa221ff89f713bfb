package io.qmesh.echo;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses durations as Go and Istio write them: {@code 2s}, {@code 500ms}, {@code 1m30s}, {@code
 * 1.5s}.
 */
final class Durations {

  private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)");

  private Durations() {}

  /**
   * @throws IllegalArgumentException naming the text when it is not a duration
   */
  static Duration parse(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("empty duration");
    }
    Matcher m = PART.matcher(text);
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
      nanos += (long) (value * unit);
      end = m.end();
    }
    if (end != text.length()) {
      throw new IllegalArgumentException("not a duration: '" + text + "' (use e.g. 500ms, 2s, 1m)");
    }
    return Duration.ofNanos(nanos);
  }
}
