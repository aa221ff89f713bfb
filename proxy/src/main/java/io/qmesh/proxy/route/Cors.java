package io.qmesh.proxy.route;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.qmesh.proxy.xds.TypedConfigs;
import java.util.List;
import java.util.function.Predicate;

/**
 * A route's CORS policy (Envoy's {@code envoy.filters.http.cors} per-route config, Istio's {@code
 * corsPolicy}). A request whose {@code Origin} matches gets the policy's {@code access-control-*}
 * headers on its response; a preflight from such an origin ({@code OPTIONS} with {@code Origin} and
 * {@code Access-Control-Request-Method}) is answered by the proxy. A request from another origin
 * passes untouched, a preflight included unless the policy says to drop it (Istio's {@code
 * unmatchedPreflights: IGNORE}).
 */
public record Cors(
    List<Predicate<String>> origins,
    String allowMethods,
    String allowHeaders,
    String exposeHeaders,
    String maxAge,
    boolean allowCredentials,
    boolean forwardUnmatchedPreflights) {

  public static final String FILTER = "envoy.filters.http.cors";

  static Cors of(com.google.protobuf.Any any, String where) {
    CorsPolicy p;
    try {
      p = TypedConfigs.unpack(any, CorsPolicy.getDescriptor(), CorsPolicy.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new RouteConfigException(where + ": " + FILTER + " does not decode: " + e.getMessage());
    }
    return new Cors(
        p.getAllowOriginStringMatchList().stream().map(m -> Matchers.string(m, where)).toList(),
        p.getAllowMethods(),
        p.getAllowHeaders(),
        p.getExposeHeaders(),
        p.getMaxAge(),
        p.hasAllowCredentials() && p.getAllowCredentials().getValue(),
        !p.hasForwardNotMatchingPreflights() || p.getForwardNotMatchingPreflights().getValue());
  }

  /** Whether the policy allows this {@code Origin}. */
  public boolean allows(String origin) {
    if (origin == null) {
      return false;
    }
    for (Predicate<String> o : origins) {
      if (o.test(origin)) {
        return true;
      }
    }
    return false;
  }

  /** A CORS preflight: OPTIONS with an Origin and the method it asks about. */
  public static boolean isPreflight(String method, String origin, String requestMethod) {
    return "OPTIONS".equals(method) && origin != null && requestMethod != null;
  }
}
