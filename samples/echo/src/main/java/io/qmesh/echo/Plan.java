package io.qmesh.echo;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * How the echo answers one HTTP request, decided from its query parameters and the workload's
 * failure setting: {@code ?status=503} answers that code, {@code ?codes=503:1,200:3} picks a code
 * at random with those relative weights (Istio's echo "pie slices"), {@code ?delay=2s} answers
 * late, {@code ?header=Name:Value} (repeatable) adds a response header.
 *
 * @param status the status to answer
 * @param delay how long to wait first
 * @param headers response headers to add
 */
record Plan(int status, Duration delay, List<Map.Entry<String, String>> headers) {

  /** A weighted status code. */
  record Slice(int code, int weight) {}

  /**
   * @param query the request's query parameters, each with all its values
   * @throws IllegalArgumentException naming the parameter when one is malformed
   */
  static Plan decide(
      Map<String, List<String>> query, double failFraction, int failCode, RandomGenerator random) {
    int status = 200;
    String statusParam = first(query, "status");
    if (statusParam != null) {
      status = parseCode(statusParam, "status");
    }
    String codesParam = first(query, "codes");
    if (codesParam != null) {
      status = pick(parseCodes(codesParam), random);
    }
    if (failFraction > 0 && random.nextDouble() < failFraction) {
      status = failCode;
    }
    Duration delay = Duration.ZERO;
    String delayParam = first(query, "delay");
    if (delayParam != null) {
      try {
        delay = Durations.parse(delayParam);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("delay: " + e.getMessage());
      }
    }
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    for (String h : query.getOrDefault("header", List.of())) {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("header: expected Name:Value, got '" + h + "'");
      }
      headers.add(Map.entry(h.substring(0, colon).trim(), h.substring(colon + 1).trim()));
    }
    return new Plan(status, delay, List.copyOf(headers));
  }

  static List<Slice> parseCodes(String text) {
    List<Slice> slices = new ArrayList<>();
    for (String part : text.split(",")) {
      String[] kv = part.trim().split(":");
      if (kv.length > 2 || kv[0].isEmpty()) {
        throw new IllegalArgumentException("codes: expected code:weight,..., got '" + text + "'");
      }
      int code = parseCode(kv[0], "codes");
      int weight;
      try {
        weight = kv.length == 2 ? Integer.parseInt(kv[1].trim()) : 1;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("codes: weight '" + kv[1] + "' is not a number");
      }
      if (weight < 1) {
        throw new IllegalArgumentException("codes: weight of " + code + " must be at least 1");
      }
      slices.add(new Slice(code, weight));
    }
    return slices;
  }

  static int pick(List<Slice> slices, RandomGenerator random) {
    int total = slices.stream().mapToInt(Slice::weight).sum();
    int slice = random.nextInt(total);
    for (Slice s : slices) {
      slice -= s.weight();
      if (slice < 0) {
        return s.code();
      }
    }
    throw new IllegalStateException("unreachable");
  }

  private static int parseCode(String text, String param) {
    try {
      int code = Integer.parseInt(text.trim());
      if (code < 100 || code > 599) {
        throw new NumberFormatException();
      }
      return code;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(param + ": '" + text + "' is not an HTTP status code");
    }
  }

  private static String first(Map<String, List<String>> query, String name) {
    List<String> values = query.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }
}
