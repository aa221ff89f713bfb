package io.qmesh.proxy.route;

import java.util.List;
import java.util.random.RandomGenerator;

/** What a matched route does. */
public sealed interface Action {

  /** Forward to one cluster. */
  record ToCluster(String cluster) implements Action {}

  /** Forward to one of several clusters by relative weight. */
  record Weighted(
      List<String> clusters,
      int[] cumulative,
      HeaderOps[] requestHeaders,
      HeaderOps[] responseHeaders)
      implements Action {

    /** Picks a cluster with probability proportional to its weight; its index in the lists. */
    public int pick(RandomGenerator random) {
      int total = cumulative[cumulative.length - 1];
      int r = random.nextInt(total);
      int lo = 0;
      int hi = cumulative.length - 1;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (r < cumulative[mid]) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      return lo;
    }
  }

  /** Answer with a redirect. */
  record Redirect(int status, String scheme, String host, int port, String path)
      implements Action {}

  /** Answer directly. */
  record Direct(int status, String body) implements Action {}
}
