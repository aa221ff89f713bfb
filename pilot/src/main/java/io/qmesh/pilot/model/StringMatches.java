package io.qmesh.pilot.model;

import io.fabric8.istio.api.api.networking.v1alpha3.StringMatch;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchExact;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchPrefix;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchRegex;

/** Istio's StringMatch oneof as a plain value. */
public record StringMatches(Kind kind, String value) {

  /** Which form the match takes; PRESENT is the empty match {@code {}}. */
  public enum Kind {
    EXACT,
    PREFIX,
    REGEX,
    PRESENT
  }

  public static StringMatches of(StringMatch m) {
    if (m == null || m.getMatchType() == null) {
      return new StringMatches(Kind.PRESENT, "");
    }
    Object t = m.getMatchType();
    if (t instanceof StringMatchExact e) {
      return new StringMatches(Kind.EXACT, e.getExact());
    }
    if (t instanceof StringMatchPrefix p) {
      return new StringMatches(Kind.PREFIX, p.getPrefix());
    }
    if (t instanceof StringMatchRegex r) {
      return new StringMatches(Kind.REGEX, r.getRegex());
    }
    return new StringMatches(Kind.PRESENT, "");
  }
}
