package io.qmesh.bookinfo.common;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The request headers each Bookinfo service copies from its incoming request onto its outgoing
 * calls, so that the mesh can join the hops into one trace and route on them (Istio's Bookinfo
 * propagates the same set).
 */
public final class ForwardedHeaders {

  /** Header names, lower case, in the order they are copied. */
  public static final List<String> NAMES =
      List.of(
          "x-request-id",
          "traceparent",
          "tracestate",
          "x-b3-traceid",
          "x-b3-spanid",
          "x-b3-parentspanid",
          "x-b3-sampled",
          "x-b3-flags",
          "b3",
          "x-ot-span-context",
          "x-cloud-trace-context",
          "grpc-trace-bin",
          "sw8",
          "x-datadog-trace-id",
          "x-datadog-parent-id",
          "x-datadog-sampling-priority",
          "end-user",
          "user-agent",
          "authorization",
          "jwt");

  /** The header productpage sets from its login session; downstream services forward it. */
  public static final String END_USER = "end-user";

  private ForwardedHeaders() {}

  /**
   * Picks the propagated headers out of an incoming request.
   *
   * @param incoming looks a header up by name (case-insensitively), null when absent
   * @return the headers to set on outgoing calls, in {@link #NAMES} order
   */
  public static Map<String, String> select(Function<String, String> incoming) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String name : NAMES) {
      String value = incoming.apply(name);
      if (value != null) {
        out.put(name, value);
      }
    }
    return out;
  }
}
