package io.qmesh.proxy.route;

import io.envoyproxy.envoy.config.route.v3.RouteAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * A route's hash policies, compiled (Envoy's {@code RouteAction.hash_policy}, what Istio's {@code
 * consistentHash} becomes): each takes a value from the request (a header, a cookie, the source
 * address, a query parameter); the values found are combined in order as Envoy combines them, and a
 * terminal policy that finds its value ends the search. No value at all means no hash: the balancer
 * then picks as it would without one.
 */
public final class HashPolicy {

  private record Item(Kind kind, String name, boolean terminal) {}

  private enum Kind {
    HEADER,
    COOKIE,
    SOURCE_IP,
    QUERY
  }

  private final List<Item> items;

  private HashPolicy(List<Item> items) {
    this.items = items;
  }

  /** The route's policies, or null when it has none (or none qmesh can evaluate). */
  static HashPolicy of(List<RouteAction.HashPolicy> policies) {
    List<Item> items =
        policies.stream()
            .map(
                p ->
                    switch (p.getPolicySpecifierCase()) {
                      case HEADER ->
                          new Item(
                              Kind.HEADER,
                              p.getHeader().getHeaderName().toLowerCase(),
                              p.getTerminal());
                      case COOKIE ->
                          new Item(Kind.COOKIE, p.getCookie().getName(), p.getTerminal());
                      case CONNECTION_PROPERTIES -> new Item(Kind.SOURCE_IP, "", p.getTerminal());
                      case QUERY_PARAMETER ->
                          new Item(Kind.QUERY, p.getQueryParameter().getName(), p.getTerminal());
                      default -> null;
                    })
            .filter(Objects::nonNull)
            .toList();
    return items.isEmpty() ? null : new HashPolicy(items);
  }

  /** The request's hash, from its values and the caller's address; empty when none applies. */
  public OptionalLong hash(Request request, String sourceAddress) {
    boolean found = false;
    long hash = 0;
    for (Item i : items) {
      String value =
          switch (i.kind()) {
            case HEADER -> request.header(i.name());
            case COOKIE -> cookie(request.header("cookie"), i.name());
            case SOURCE_IP -> sourceAddress;
            case QUERY -> query(request.path(), i.name());
          };
      if (value == null) {
        continue;
      }
      long h = fnv1a64(value);
      hash = found ? ((hash << 1) | (hash >>> 63)) ^ h : h;
      found = true;
      if (i.terminal()) {
        break;
      }
    }
    return found ? OptionalLong.of(hash) : OptionalLong.empty();
  }

  private static String cookie(String header, String name) {
    if (header == null) {
      return null;
    }
    for (String part : header.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0 && part.substring(0, eq).trim().equals(name)) {
        return part.substring(eq + 1).trim();
      }
    }
    return null;
  }

  private static String query(String path, String name) {
    int q = path.indexOf('?');
    if (q < 0) {
      return null;
    }
    for (String pair : path.substring(q + 1).split("&")) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      if (key.equals(name)) {
        return eq < 0 ? "" : pair.substring(eq + 1);
      }
    }
    return null;
  }

  /** FNV-1a, 64 bits, then a final avalanche so that near values land far apart on the ring. */
  static long fnv1a64(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return h;
  }
}
