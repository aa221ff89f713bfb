package io.qmesh.pilot.translate;

import java.util.List;
import java.util.Locale;

/** gRPC status names as Istio's fault abort writes them ({@code UNAVAILABLE}) to their codes. */
final class GrpcStatus {

  private static final List<String> NAMES =
      List.of(
          "OK",
          "CANCELLED",
          "UNKNOWN",
          "INVALID_ARGUMENT",
          "DEADLINE_EXCEEDED",
          "NOT_FOUND",
          "ALREADY_EXISTS",
          "PERMISSION_DENIED",
          "RESOURCE_EXHAUSTED",
          "FAILED_PRECONDITION",
          "ABORTED",
          "OUT_OF_RANGE",
          "UNIMPLEMENTED",
          "INTERNAL",
          "UNAVAILABLE",
          "DATA_LOSS",
          "UNAUTHENTICATED");

  private GrpcStatus() {}

  static int code(String status) {
    String s = status.trim().toUpperCase(Locale.ROOT);
    int i = NAMES.indexOf(s);
    if (i >= 0) {
      return i;
    }
    return Integer.parseInt(s);
  }
}
