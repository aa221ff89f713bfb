package io.qmesh.proxy.route;

import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A route's rewrite of the path and authority before forwarding (Istio's {@code rewrite}): Envoy's
 * {@code prefix_rewrite} (the matched prefix, or the whole path of an exact match, replaced),
 * {@code regex_rewrite} (every match of the pattern in the path replaced, {@code \1} naming a
 * group) and {@code host_rewrite_literal}. The query string is kept.
 */
public record Rewrite(
    String matched, String prefix, Pattern regex, String substitution, String host) {

  /**
   * @return the rewrite, or null when the route rewrites nothing
   */
  static Rewrite of(RouteMatch match, RouteAction a, String where) {
    String prefix = a.getPrefixRewrite().isEmpty() ? null : a.getPrefixRewrite();
    String matched =
        switch (match.getPathSpecifierCase()) {
          case PREFIX -> match.getPrefix();
          case PATH -> match.getPath();
          default -> null;
        };
    if (prefix != null && matched == null) {
      throw new RouteConfigException(where + ": prefix_rewrite needs a prefix or path match");
    }
    Pattern regex = null;
    String substitution = null;
    if (a.hasRegexRewrite()) {
      regex = Matchers.regex(a.getRegexRewrite().getPattern().getRegex(), where);
      // Envoy (RE2) writes groups as \1; java.util.regex as $1, with literal $ escaped.
      substitution =
          a.getRegexRewrite()
              .getSubstitution()
              .replace("$", "\\$")
              .replaceAll("\\\\(\\d)", "\\$$1");
    }
    String host = a.getHostRewriteLiteral().isEmpty() ? null : a.getHostRewriteLiteral();
    return prefix == null && regex == null && host == null
        ? null
        : new Rewrite(matched, prefix, regex, substitution, host);
  }

  /** The path to send for {@code pathAndQuery} (unchanged when only the authority is rewritten). */
  public String path(String pathAndQuery) {
    if (prefix == null && regex == null) {
      return pathAndQuery;
    }
    int q = pathAndQuery.indexOf('?');
    String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
    String query = q < 0 ? "" : pathAndQuery.substring(q);
    if (prefix != null && path.regionMatches(true, 0, matched, 0, matched.length())) {
      path = prefix + path.substring(matched.length());
    } else if (regex != null) {
      Matcher m = regex.matcher(path);
      path = m.replaceAll(substitution);
    }
    return path + query;
  }
}
