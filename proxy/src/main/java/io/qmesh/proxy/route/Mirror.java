package io.qmesh.proxy.route;

import java.util.random.RandomGenerator;

/**
 * A route's request mirror (Envoy's {@code request_mirror_policies}, Istio's {@code mirror} and
 * {@code mirrors}): a copy of a share of requests (parts per million) goes to {@code cluster}, its
 * answer ignored.
 */
public record Mirror(String cluster, int perMillion) {

  /** Whether this request is mirrored. */
  public boolean applies(RandomGenerator random) {
    return perMillion >= 1_000_000 || random.nextInt(1_000_000) < perMillion;
  }

  /** Envoy's shadow authority: {@code -shadow} after the host, before any port. */
  public static String shadowAuthority(String authority) {
    int colon = authority.lastIndexOf(':');
    if (colon > 0 && authority.indexOf(']') < colon) {
      return authority.substring(0, colon) + "-shadow" + authority.substring(colon);
    }
    return authority + "-shadow";
  }
}
