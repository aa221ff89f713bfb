package io.qmesh.proxy.route;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * An Envoy route configuration compiled into an immutable matcher. The virtual host is chosen by
 * the request's authority as Envoy chooses it (exact domain, then the longest {@code *.suffix},
 * then the longest {@code prefix.*}, then {@code *}); within it the first matching route wins. With
 * {@code ignore_port_in_host_matching} (what Istio sets on every sidecar and gateway route config
 * since 1.16) the authority's port is left out of that choice. Built once per config change and
 * swapped in whole; matching allocates nothing per request but the port-less authority.
 */
public final class RouteTable {

  /** A virtual host's routes. */
  record VHost(String name, List<CompiledRoute> routes) {}

  /** A match: the virtual host's name and the route. */
  public record Matched(String virtualHost, CompiledRoute route) {}

  private final String name;
  private final Map<String, VHost> exact;
  private final List<Map.Entry<String, VHost>> suffixes;
  private final List<Map.Entry<String, VHost>> prefixes;
  private final VHost any;
  private final boolean ignorePort;

  private RouteTable(
      String name,
      boolean ignorePort,
      Map<String, VHost> exact,
      List<Map.Entry<String, VHost>> suffixes,
      List<Map.Entry<String, VHost>> prefixes,
      VHost any) {
    this.name = name;
    this.ignorePort = ignorePort;
    this.exact = exact;
    this.suffixes = suffixes;
    this.prefixes = prefixes;
    this.any = any;
  }

  public String name() {
    return name;
  }

  /**
   * @throws RouteConfigException naming the route config, virtual host and route at fault
   */
  public static RouteTable compile(RouteConfiguration rc) {
    Map<String, VHost> exact = new HashMap<>();
    List<Map.Entry<String, VHost>> suffixes = new ArrayList<>();
    List<Map.Entry<String, VHost>> prefixes = new ArrayList<>();
    VHost any = null;
    for (VirtualHost vh : rc.getVirtualHostsList()) {
      String where = "route config " + rc.getName() + " virtual host " + vh.getName();
      List<CompiledRoute> routes = new ArrayList<>();
      Cors vhostCors =
          vh.containsTypedPerFilterConfig(Cors.FILTER)
              ? Cors.of(vh.getTypedPerFilterConfigOrThrow(Cors.FILTER), where)
              : null;
      for (int i = 0; i < vh.getRoutesCount(); i++) {
        routes.add(route(vh.getRoutes(i), vhostCors, where + " route " + i));
      }
      VHost host = new VHost(vh.getName(), List.copyOf(routes));
      for (String d : vh.getDomainsList()) {
        String domain = d.toLowerCase(Locale.ROOT);
        if (domain.equals("*")) {
          any = host;
        } else if (domain.startsWith("*")) {
          suffixes.add(Map.entry(domain.substring(1), host));
        } else if (domain.endsWith("*")) {
          prefixes.add(Map.entry(domain.substring(0, domain.length() - 1), host));
        } else if (exact.putIfAbsent(domain, host) != null) {
          throw new RouteConfigException(where + ": domain " + d + " is in two virtual hosts");
        }
      }
    }
    Comparator<Map.Entry<String, VHost>> longestFirst =
        Comparator.comparingInt((Map.Entry<String, VHost> e) -> e.getKey().length()).reversed();
    suffixes.sort(longestFirst);
    prefixes.sort(longestFirst);
    return new RouteTable(
        rc.getName(),
        rc.getIgnorePortInHostMatching(),
        Map.copyOf(exact),
        List.copyOf(suffixes),
        List.copyOf(prefixes),
        any);
  }

  /** The virtual host and first route matching the request, if any (none means 404, NR). */
  public Optional<Matched> match(Request request) {
    String authority =
        request.authority() == null ? "" : request.authority().toLowerCase(Locale.ROOT);
    VHost vh = virtualHost(ignorePort ? withoutPort(authority) : authority);
    if (vh == null) {
      return Optional.empty();
    }
    for (CompiledRoute r : vh.routes()) {
      if (r.matches().test(request)) {
        return Optional.of(new Matched(vh.name(), r));
      }
    }
    return Optional.empty();
  }

  /**
   * {@code host:port} without {@code :port}; an IPv6 literal keeps its brackets ({@code [::1]:80}
   * is {@code [::1]}, {@code [::1]} and a bare {@code ::1} stay as they are).
   */
  static String withoutPort(String authority) {
    int colon = authority.lastIndexOf(':');
    if (colon < 0) {
      return authority;
    }
    if (authority.startsWith("[")) {
      int close = authority.indexOf(']');
      return close > 0 && close < colon ? authority.substring(0, close + 1) : authority;
    }
    if (authority.indexOf(':') != colon) {
      return authority; // an unbracketed IPv6 address: no port to take off
    }
    for (int i = colon + 1; i < authority.length(); i++) {
      char c = authority.charAt(i);
      if (c < '0' || c > '9') {
        return authority;
      }
    }
    return authority.substring(0, colon);
  }

  private VHost virtualHost(String authority) {
    VHost vh = exact.get(authority);
    if (vh != null) {
      return vh;
    }
    for (var e : suffixes) {
      if (authority.endsWith(e.getKey())) {
        return e.getValue();
      }
    }
    for (var e : prefixes) {
      if (authority.startsWith(e.getKey())) {
        return e.getValue();
      }
    }
    return any;
  }

  private static CompiledRoute route(Route r, Cors vhostCors, String where) {
    Predicate<Request> match = match(r.getMatch(), where);
    Action action;
    Duration timeout = null;
    Retry retry = null;
    HashPolicy hash = null;
    Rewrite rewrite = null;
    List<Mirror> mirrors = List.of();
    switch (r.getActionCase()) {
      case ROUTE -> {
        RouteAction a = r.getRoute();
        action =
            switch (a.getClusterSpecifierCase()) {
              case CLUSTER -> new Action.ToCluster(a.getCluster());
              case WEIGHTED_CLUSTERS -> weighted(a.getWeightedClusters(), where);
              default ->
                  throw new RouteConfigException(
                      where + ": unsupported cluster specifier " + a.getClusterSpecifierCase());
            };
        if (a.hasTimeout()) {
          timeout = Duration.ofSeconds(a.getTimeout().getSeconds(), a.getTimeout().getNanos());
        }
        retry = a.hasRetryPolicy() ? Retry.of(a.getRetryPolicy(), where) : null;
        hash = HashPolicy.of(a.getHashPolicyList());
        rewrite = Rewrite.of(r.getMatch(), a, where);
        mirrors =
            a.getRequestMirrorPoliciesList().stream()
                .map(
                    m ->
                        new Mirror(
                            m.getCluster(),
                            m.hasRuntimeFraction()
                                ? Fault.perMillion(true, m.getRuntimeFraction().getDefaultValue())
                                : 1_000_000))
                .toList();
      }
      case REDIRECT -> {
        var rd = r.getRedirect();
        int status =
            switch (rd.getResponseCode()) {
              case FOUND -> 302;
              case SEE_OTHER -> 303;
              case TEMPORARY_REDIRECT -> 307;
              case PERMANENT_REDIRECT -> 308;
              default -> 301;
            };
        action =
            new Action.Redirect(
                status,
                rd.getSchemeRedirect(),
                rd.getHostRedirect(),
                rd.getPortRedirect(),
                rd.getPathRedirect());
      }
      case DIRECT_RESPONSE ->
          action =
              new Action.Direct(
                  r.getDirectResponse().getStatus(),
                  r.getDirectResponse().getBody().getInlineString());
      default ->
          throw new RouteConfigException(where + ": unsupported action " + r.getActionCase());
    }
    Fault fault =
        r.containsTypedPerFilterConfig(Fault.FILTER)
            ? Fault.of(r.getTypedPerFilterConfigOrThrow(Fault.FILTER), where)
            : null;
    Cors cors =
        r.containsTypedPerFilterConfig(Cors.FILTER)
            ? Cors.of(r.getTypedPerFilterConfigOrThrow(Cors.FILTER), where)
            : vhostCors;
    return new CompiledRoute(
        r.getName(),
        match,
        action,
        timeout,
        retry,
        hash,
        fault,
        HeaderOps.of(r.getRequestHeadersToAddList(), r.getRequestHeadersToRemoveList()),
        HeaderOps.of(r.getResponseHeadersToAddList(), r.getResponseHeadersToRemoveList()),
        rewrite,
        mirrors,
        cors,
        r.hasDecorator() ? r.getDecorator().getOperation() : null);
  }

  private static Action weighted(WeightedCluster wc, String where) {
    List<String> names = new ArrayList<>();
    int[] cumulative = new int[wc.getClustersCount()];
    HeaderOps[] requestOps = new HeaderOps[wc.getClustersCount()];
    HeaderOps[] responseOps = new HeaderOps[wc.getClustersCount()];
    int total = 0;
    for (int i = 0; i < wc.getClustersCount(); i++) {
      var c = wc.getClusters(i);
      total += c.getWeight().getValue();
      cumulative[i] = total;
      names.add(c.getName());
      requestOps[i] =
          HeaderOps.of(c.getRequestHeadersToAddList(), c.getRequestHeadersToRemoveList());
      responseOps[i] =
          HeaderOps.of(c.getResponseHeadersToAddList(), c.getResponseHeadersToRemoveList());
    }
    if (total <= 0) {
      throw new RouteConfigException(where + ": weighted clusters with no weight");
    }
    return new Action.Weighted(List.copyOf(names), cumulative, requestOps, responseOps);
  }

  private static Predicate<Request> match(RouteMatch m, String where) {
    boolean caseSensitive = !m.hasCaseSensitive() || m.getCaseSensitive().getValue();
    Predicate<String> path =
        switch (m.getPathSpecifierCase()) {
          case PREFIX -> {
            String prefix = m.getPrefix();
            yield caseSensitive
                ? p -> p.startsWith(prefix)
                : p -> p.regionMatches(true, 0, prefix, 0, prefix.length());
          }
          case PATH -> {
            String exact = m.getPath();
            yield caseSensitive ? p -> p.equals(exact) : p -> p.equalsIgnoreCase(exact);
          }
          case SAFE_REGEX -> {
            Pattern p = Matchers.regex(m.getSafeRegex().getRegex(), where);
            Pattern compiled =
                caseSensitive ? p : Pattern.compile(p.pattern(), Pattern.CASE_INSENSITIVE);
            yield s -> compiled.matcher(s).matches();
          }
          default ->
              throw new RouteConfigException(
                  where + ": unsupported path match " + m.getPathSpecifierCase());
        };
    List<Predicate<Request>> checks = new ArrayList<>();
    m.getHeadersList().forEach(h -> checks.add(Matchers.header(h, where)));
    m.getQueryParametersList().forEach(q -> checks.add(Matchers.query(q, where)));
    Predicate<Request>[] all = checks.toArray(Predicate[]::new);
    return r -> {
      String p = r.path();
      int q = p.indexOf('?');
      if (!path.test(q < 0 ? p : p.substring(0, q))) {
        return false;
      }
      for (Predicate<Request> c : all) {
        if (!c.test(r)) {
          return false;
        }
      }
      return true;
    };
  }
}
