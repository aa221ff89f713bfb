package io.qmesh.pilot.translate;

import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMatchRequest;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatch;
import io.qmesh.pilot.model.StringMatches;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * VirtualService match conditions to Envoy route matches. One HTTPRoute with several matches
 * becomes several Envoy routes (Istio's OR); a match that cannot apply to this proxy and port
 * (port, sourceLabels, gateways) is left out, and a route left with none is skipped.
 */
final class RouteMatches {

  private RouteMatches() {}

  static List<RouteMatch> of(RouteContext ctx, String vsNamespace, List<HTTPMatchRequest> matches) {
    if (matches.isEmpty()) {
      return List.of(RouteMatch.newBuilder().setPrefix("/").build());
    }
    List<RouteMatch> out = new ArrayList<>();
    for (HTTPMatchRequest m : matches) {
      if (applies(ctx, vsNamespace, m)) {
        out.add(match(m));
      }
    }
    return out;
  }

  private static boolean applies(RouteContext ctx, String vsNamespace, HTTPMatchRequest m) {
    if (m.getPort() != null && m.getPort() != ctx.port()) {
      return false;
    }
    if (!m.getSourceLabels().isEmpty()
        && !ctx.proxy().labels().entrySet().containsAll(m.getSourceLabels().entrySet())) {
      return false;
    }
    if (m.getSourceNamespace() != null && !m.getSourceNamespace().equals(ctx.proxy().namespace())) {
      return false;
    }
    return m.getGateways().isEmpty()
        || m.getGateways().stream()
            .anyMatch(g -> ctx.gateways().contains(Gateways.ref(g, vsNamespace)));
  }

  private static RouteMatch match(HTTPMatchRequest m) {
    RouteMatch.Builder out = RouteMatch.newBuilder();
    if (m.getUri() == null) {
      out.setPrefix("/");
    } else {
      StringMatches uri = StringMatches.of(m.getUri());
      switch (uri.kind()) {
        case EXACT -> out.setPath(uri.value());
        case PREFIX -> out.setPrefix(uri.value());
        case REGEX -> out.setSafeRegex(RegexMatcher.newBuilder().setRegex(uri.value()));
        case PRESENT -> out.setPrefix("/");
      }
    }
    if (Boolean.TRUE.equals(m.getIgnoreUriCase())) {
      out.setCaseSensitive(BoolValue.of(false));
    }
    pseudo(out, ":method", m.getMethod());
    pseudo(out, ":authority", m.getAuthority());
    pseudo(out, ":scheme", m.getScheme());
    sorted(m.getHeaders()).forEach((name, sm) -> out.addHeaders(header(name, sm, false)));
    sorted(m.getWithoutHeaders()).forEach((name, sm) -> out.addHeaders(header(name, sm, true)));
    sorted(m.getQueryParams()).forEach((name, sm) -> out.addQueryParameters(query(name, sm)));
    return out.build();
  }

  private static void pseudo(RouteMatch.Builder out, String name, StringMatch sm) {
    if (sm != null) {
      out.addHeaders(header(name, sm, false));
    }
  }

  private static HeaderMatcher header(String name, StringMatch sm, boolean invert) {
    HeaderMatcher.Builder h =
        HeaderMatcher.newBuilder().setName(name.toLowerCase(Locale.ROOT)).setInvertMatch(invert);
    StringMatches v = StringMatches.of(sm);
    if (v.kind() == StringMatches.Kind.PRESENT) {
      h.setPresentMatch(true);
    } else {
      h.setStringMatch(string(v));
    }
    return h.build();
  }

  private static QueryParameterMatcher query(String name, StringMatch sm) {
    QueryParameterMatcher.Builder q = QueryParameterMatcher.newBuilder().setName(name);
    StringMatches v = StringMatches.of(sm);
    if (v.kind() == StringMatches.Kind.PRESENT) {
      q.setPresentMatch(true);
    } else {
      q.setStringMatch(string(v));
    }
    return q.build();
  }

  static StringMatcher string(StringMatches v) {
    return switch (v.kind()) {
      case EXACT -> StringMatcher.newBuilder().setExact(v.value()).build();
      case PREFIX -> StringMatcher.newBuilder().setPrefix(v.value()).build();
      case REGEX ->
          StringMatcher.newBuilder()
              .setSafeRegex(RegexMatcher.newBuilder().setRegex(v.value()))
              .build();
      case PRESENT ->
          StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(".*")).build();
    };
  }

  private static <V> Map<String, V> sorted(Map<String, V> m) {
    return new TreeMap<>(m);
  }
}
