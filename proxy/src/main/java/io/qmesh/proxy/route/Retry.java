package io.qmesh.proxy.route;

import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import java.time.Duration;
import java.util.Arrays;

/**
 * A route's retry policy compiled from Envoy's {@code RetryPolicy}: which outcomes are retried, how
 * many times, each try's timeout, the backoff, and whether a retry avoids the hosts already tried
 * (Envoy's {@code previous_hosts} predicate, which Istio sets on every route).
 *
 * <p>The conditions follow Envoy's {@code x-envoy-retry-on} and {@code x-envoy-retry-grpc-on}
 * semantics: {@code 5xx} covers any 5xx answer and an upstream that does not answer at all (connect
 * failure, reset, per-try timeout); {@code gateway-error} the same with only 502, 503 and 504;
 * {@code reset} a reset or a per-try timeout; {@code connect-failure} a connection that could not
 * be made; {@code refused-stream} an HTTP/2 REFUSED_STREAM; {@code retriable-4xx} 409; {@code
 * retriable-status-codes} the codes listed; the gRPC conditions the {@code grpc-status} of a
 * trailers-only answer.
 */
public record Retry(
    int conditions,
    int numRetries,
    Duration perTryTimeout,
    int[] statusCodes,
    boolean otherHost,
    int hostSelectionAttempts,
    long baseBackoffMillis,
    long maxBackoffMillis) {

  static final int FIVE_XX = 1;
  static final int GATEWAY_ERROR = 1 << 1;
  static final int RESET = 1 << 2;
  static final int CONNECT_FAILURE = 1 << 3;
  static final int REFUSED_STREAM = 1 << 4;
  static final int RETRIABLE_4XX = 1 << 5;
  static final int STATUS_CODES = 1 << 6;
  static final int GRPC_CANCELLED = 1 << 7;
  static final int GRPC_DEADLINE_EXCEEDED = 1 << 8;
  static final int GRPC_INTERNAL = 1 << 9;
  static final int GRPC_RESOURCE_EXHAUSTED = 1 << 10;
  static final int GRPC_UNAVAILABLE = 1 << 11;

  /** Envoy's default base interval; the maximum defaults to ten times it. */
  static final long DEFAULT_BASE_MILLIS = 25;

  /** How an attempt that is not a usable answer ended. */
  public enum Failure {
    /** No connection could be made. */
    CONNECT_FAILURE,
    /** The connection or stream broke before the response began. */
    RESET,
    /** The HTTP/2 stream was refused (REFUSED_STREAM). */
    REFUSED_STREAM,
    /** The try's own timeout passed (treated as a 504 answer, as Envoy does). */
    PER_TRY_TIMEOUT
  }

  /**
   * @throws RouteConfigException for a condition Envoy does not know
   */
  public static Retry of(RetryPolicy p, String where) {
    int conditions = 0;
    for (String part : p.getRetryOn().split(",")) {
      String c = part.trim();
      conditions |=
          switch (c) {
            case "" -> 0;
            case "5xx" -> FIVE_XX;
            case "gateway-error" -> GATEWAY_ERROR;
            case "reset", "reset-before-request" -> RESET;
            case "connect-failure" -> CONNECT_FAILURE;
            case "refused-stream" -> REFUSED_STREAM;
            case "retriable-4xx" -> RETRIABLE_4XX;
            case "retriable-status-codes" -> STATUS_CODES;
            case "cancelled" -> GRPC_CANCELLED;
            case "deadline-exceeded" -> GRPC_DEADLINE_EXCEEDED;
            case "internal" -> GRPC_INTERNAL;
            case "resource-exhausted" -> GRPC_RESOURCE_EXHAUSTED;
            case "unavailable" -> GRPC_UNAVAILABLE;
            // Conditions on headers Envoy sets for its own clients; nothing to match here.
            case "retriable-headers", "envoy-ratelimited", "http3-post-connect-failure" -> 0;
            default -> throw new RouteConfigException(where + ": unknown retry condition " + c);
          };
    }
    Duration perTry =
        p.hasPerTryTimeout()
            ? Duration.ofSeconds(p.getPerTryTimeout().getSeconds(), p.getPerTryTimeout().getNanos())
            : Duration.ZERO;
    long base = DEFAULT_BASE_MILLIS;
    long max = 0;
    if (p.hasRetryBackOff()) {
      var b = p.getRetryBackOff();
      if (b.hasBaseInterval()) {
        base = toMillis(b.getBaseInterval());
      }
      if (b.hasMaxInterval()) {
        max = toMillis(b.getMaxInterval());
      }
    }
    boolean otherHost =
        p.getRetryHostPredicateList().stream()
            .anyMatch(h -> h.getName().equals("envoy.retry_host_predicates.previous_hosts"));
    return new Retry(
        conditions,
        p.hasNumRetries() ? p.getNumRetries().getValue() : 1,
        perTry,
        p.getRetriableStatusCodesList().stream().mapToInt(Integer::intValue).sorted().toArray(),
        otherHost,
        Math.max(1, (int) p.getHostSelectionRetryMaxAttempts()),
        Math.max(1, base),
        max > 0 ? max : Math.max(1, base) * 10);
  }

  private static long toMillis(com.google.protobuf.Duration d) {
    return d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
  }

  /** Whether an upstream answer with this status (and trailers-only gRPC status) is retried. */
  public boolean retriable(int status, String grpcStatus) {
    if (status >= 500 && (conditions & FIVE_XX) != 0) {
      return true;
    }
    if ((status == 502 || status == 503 || status == 504) && (conditions & GATEWAY_ERROR) != 0) {
      return true;
    }
    if (status == 409 && (conditions & RETRIABLE_4XX) != 0) {
      return true;
    }
    if ((conditions & STATUS_CODES) != 0 && Arrays.binarySearch(statusCodes, status) >= 0) {
      return true;
    }
    if (grpcStatus != null && (conditions >>> 7) != 0) {
      int flag =
          switch (grpcStatus.trim()) {
            case "1" -> GRPC_CANCELLED;
            case "4" -> GRPC_DEADLINE_EXCEEDED;
            case "13" -> GRPC_INTERNAL;
            case "8" -> GRPC_RESOURCE_EXHAUSTED;
            case "14" -> GRPC_UNAVAILABLE;
            default -> 0;
          };
      return (conditions & flag) != 0;
    }
    return false;
  }

  /** Whether an attempt that failed this way is retried. */
  public boolean retriable(Failure failure) {
    return switch (failure) {
      case CONNECT_FAILURE ->
          (conditions & (FIVE_XX | GATEWAY_ERROR | RESET | CONNECT_FAILURE)) != 0;
      case RESET -> (conditions & (FIVE_XX | GATEWAY_ERROR | RESET)) != 0;
      case REFUSED_STREAM -> (conditions & (FIVE_XX | GATEWAY_ERROR | REFUSED_STREAM)) != 0;
      case PER_TRY_TIMEOUT -> retriable(504, null) || (conditions & RESET) != 0;
    };
  }

  /**
   * The wait before retry number {@code n} (1 for the first): Envoy's fully jittered exponential
   * backoff, drawn from [0, (2^n - 1) x base], at most the maximum interval.
   */
  public long backoffMillis(int n, java.util.random.RandomGenerator random) {
    long ceiling = Math.min(maxBackoffMillis, ((1L << Math.min(n, 20)) - 1) * baseBackoffMillis);
    return ceiling <= 0 ? 0 : random.nextLong(ceiling + 1);
  }
}
