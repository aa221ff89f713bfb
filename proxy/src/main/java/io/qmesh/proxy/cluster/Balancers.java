package io.qmesh.proxy.cluster;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/** Envoy's load-balancing policies. */
final class Balancers {

  private Balancers() {}

  /** Each host in turn. */
  static final class RoundRobin implements LoadBalancer {
    private final UpstreamHost[] hosts;
    private final AtomicLong next = new AtomicLong();

    RoundRobin(List<UpstreamHost> hosts) {
      this.hosts = hosts.toArray(UpstreamHost[]::new);
    }

    @Override
    public UpstreamHost choose(long hash) {
      return hosts.length == 0
          ? null
          : hosts[(int) Math.floorMod(next.getAndIncrement(), (long) hosts.length)];
    }
  }

  /** A host at random. */
  static final class Random implements LoadBalancer {
    private final UpstreamHost[] hosts;

    Random(List<UpstreamHost> hosts) {
      this.hosts = hosts.toArray(UpstreamHost[]::new);
    }

    @Override
    public UpstreamHost choose(long hash) {
      return hosts.length == 0 ? null : hosts[ThreadLocalRandom.current().nextInt(hosts.length)];
    }
  }

  /** Envoy's default and Istio's: of two hosts at random, the one with fewer requests in flight. */
  static final class LeastRequest implements LoadBalancer {
    private final UpstreamHost[] hosts;

    LeastRequest(List<UpstreamHost> hosts) {
      this.hosts = hosts.toArray(UpstreamHost[]::new);
    }

    @Override
    public UpstreamHost choose(long hash) {
      int n = hosts.length;
      if (n <= 1) {
        return n == 0 ? null : hosts[0];
      }
      ThreadLocalRandom r = ThreadLocalRandom.current();
      UpstreamHost a = hosts[r.nextInt(n)];
      UpstreamHost b = hosts[r.nextInt(n - 1)];
      if (b == a) {
        b = hosts[n - 1];
      }
      return b.active() < a.active() ? b : a;
    }

    /**
     * The same choice of two among the hosts not tried yet. Re-picking over all hosts would not do:
     * with two hosts both are always the candidates, so a host that fails fast (fewest requests in
     * flight) would win every re-pick and every retry would go back to it.
     */
    @Override
    public UpstreamHost chooseOther(long hash, UpstreamHost[] tried, int attempts) {
      int n = 0;
      for (UpstreamHost h : hosts) {
        if (!LoadBalancer.contains(tried, h)) {
          n++;
        }
      }
      if (n == 0) {
        return choose(hash);
      }
      ThreadLocalRandom r = ThreadLocalRandom.current();
      UpstreamHost a = untried(tried, r.nextInt(n));
      if (n == 1) {
        return a;
      }
      int j = r.nextInt(n - 1);
      UpstreamHost b = untried(tried, j);
      if (b == a) {
        b = untried(tried, n - 1);
      }
      return b.active() < a.active() ? b : a;
    }

    /** The {@code k}-th host not in {@code tried}. */
    private UpstreamHost untried(UpstreamHost[] tried, int k) {
      for (UpstreamHost h : hosts) {
        if (!LoadBalancer.contains(tried, h) && k-- == 0) {
          return h;
        }
      }
      throw new IllegalStateException("fewer untried hosts than counted");
    }
  }

  /** Consistent hashing on a ring: each host owns points in proportion to its weight. */
  static final class RingHash implements LoadBalancer {
    private final long[] points;
    private final UpstreamHost[] owners;

    RingHash(List<UpstreamHost> hosts, long minimumRingSize) {
      int total = hosts.stream().mapToInt(UpstreamHost::weight).sum();
      int size = (int) Math.max(minimumRingSize, hosts.size());
      long[][] entries = new long[hosts.isEmpty() ? 0 : size + hosts.size()][];
      int k = 0;
      for (int h = 0; h < hosts.size(); h++) {
        UpstreamHost host = hosts.get(h);
        int replicas = (int) Math.ceil((double) size * host.weight() / total);
        for (int i = 0; i < replicas && k < entries.length; i++) {
          entries[k++] = new long[] {hash64(host + "_" + i), h};
        }
      }
      long[][] used = Arrays.copyOf(entries, k);
      Arrays.sort(used, (x, y) -> Long.compareUnsigned(x[0], y[0]));
      points = new long[k];
      owners = new UpstreamHost[k];
      for (int i = 0; i < k; i++) {
        points[i] = used[i][0];
        owners[i] = hosts.get((int) used[i][1]);
      }
    }

    @Override
    public UpstreamHost choose(long hash) {
      if (points.length == 0) {
        return null;
      }
      int lo = 0;
      int hi = points.length;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (Long.compareUnsigned(points[mid], hash) < 0) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      return owners[lo == points.length ? 0 : lo];
    }
  }

  /** Google's Maglev: a lookup table where each host fills slots along its own permutation. */
  static final class Maglev implements LoadBalancer {
    private final UpstreamHost[] table;

    Maglev(List<UpstreamHost> hosts, long tableSize) {
      int m = (int) tableSize;
      table = new UpstreamHost[hosts.isEmpty() ? 0 : m];
      if (hosts.isEmpty()) {
        return;
      }
      int n = hosts.size();
      long[] offset = new long[n];
      long[] skip = new long[n];
      long[] next = new long[n];
      for (int i = 0; i < n; i++) {
        String name = hosts.get(i).toString();
        offset[i] = Long.remainderUnsigned(hash64(name), m);
        skip[i] = Long.remainderUnsigned(hash64(name + "#skip"), m - 1) + 1;
      }
      int filled = 0;
      while (true) {
        for (int i = 0; i < n; i++) {
          // Weighted: a host takes as many turns per round as its weight.
          for (int w = 0; w < hosts.get(i).weight(); w++) {
            int c = (int) ((offset[i] + next[i] * skip[i]) % m);
            while (table[c] != null) {
              next[i]++;
              c = (int) ((offset[i] + next[i] * skip[i]) % m);
            }
            table[c] = hosts.get(i);
            next[i]++;
            if (++filled == m) {
              return;
            }
          }
        }
      }
    }

    @Override
    public UpstreamHost choose(long hash) {
      return table.length == 0 ? null : table[(int) Long.remainderUnsigned(hash, table.length)];
    }
  }

  /** A 64-bit FNV-1a hash with a final mix, for ring points and Maglev permutations. */
  static long hash64(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b;
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return h;
  }
}
