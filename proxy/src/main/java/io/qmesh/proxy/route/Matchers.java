package io.qmesh.proxy.route;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Envoy's string, header and query matchers, compiled once into predicates. */
final class Matchers {

  private Matchers() {}

  static Predicate<String> string(StringMatcher m, String where) {
    boolean ignoreCase = m.getIgnoreCase();
    return switch (m.getMatchPatternCase()) {
      case EXACT ->
          ignoreCase ? v -> v.equalsIgnoreCase(m.getExact()) : v -> v.equals(m.getExact());
      case PREFIX ->
          ignoreCase
              ? v -> v.toLowerCase(Locale.ROOT).startsWith(m.getPrefix().toLowerCase(Locale.ROOT))
              : v -> v.startsWith(m.getPrefix());
      case SUFFIX ->
          ignoreCase
              ? v -> v.toLowerCase(Locale.ROOT).endsWith(m.getSuffix().toLowerCase(Locale.ROOT))
              : v -> v.endsWith(m.getSuffix());
      case CONTAINS ->
          ignoreCase
              ? v -> v.toLowerCase(Locale.ROOT).contains(m.getContains().toLowerCase(Locale.ROOT))
              : v -> v.contains(m.getContains());
      case SAFE_REGEX -> {
        Pattern p = regex(m.getSafeRegex().getRegex(), where);
        yield v -> p.matcher(v).matches();
      }
      default ->
          throw new RouteConfigException(
              where + ": unsupported string matcher " + m.getMatchPatternCase());
    };
  }

  /** A header check; absent headers never match (before inversion), as in Envoy. */
  static Predicate<Request> header(HeaderMatcher h, String where) {
    String name = h.getName().toLowerCase(Locale.ROOT);
    Predicate<String> value;
    if (h.hasStringMatch()) {
      value = string(h.getStringMatch(), where + " header " + name);
    } else if (h.getHeaderMatchSpecifierCase()
        == HeaderMatcher.HeaderMatchSpecifierCase.PRESENT_MATCH) {
      boolean wanted = h.getPresentMatch();
      return r -> (read(r, name) != null) == wanted ^ h.getInvertMatch();
    } else if (h.getHeaderMatchSpecifierCase()
        == HeaderMatcher.HeaderMatchSpecifierCase.HEADERMATCHSPECIFIER_NOT_SET) {
      value = v -> true;
    } else {
      throw new RouteConfigException(
          where + " header " + name + ": unsupported matcher " + h.getHeaderMatchSpecifierCase());
    }
    boolean invert = h.getInvertMatch();
    return r -> {
      String v = read(r, name);
      return (v != null && value.test(v)) ^ invert;
    };
  }

  static Predicate<Request> query(QueryParameterMatcher q, String where) {
    String name = q.getName();
    if (q.hasPresentMatch()) {
      boolean wanted = q.getPresentMatch();
      return r -> (queryValue(r.path(), name) != null) == wanted;
    }
    Predicate<String> value =
        q.hasStringMatch() ? string(q.getStringMatch(), where + " query " + name) : v -> true;
    return r -> {
      String v = queryValue(r.path(), name);
      return v != null && value.test(v);
    };
  }

  static Pattern regex(String regex, String where) {
    try {
      return Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      throw new RouteConfigException(
          where + ": regex '" + regex + "' does not compile: " + e.getDescription());
    }
  }

  private static String read(Request r, String name) {
    return switch (name) {
      case ":method" -> r.method();
      case ":authority" -> r.authority();
      case ":path" -> r.path();
      case ":scheme" -> r.scheme();
      default -> r.header(name);
    };
  }

  /** The first value of a query parameter, decoded; null when absent. */
  static String queryValue(String path, String name) {
    int q = path.indexOf('?');
    if (q < 0) {
      return null;
    }
    for (String pair : path.substring(q + 1).split("&")) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      if (URLDecoder.decode(key, StandardCharsets.UTF_8).equals(name)) {
        return eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      }
    }
    return null;
  }
}
