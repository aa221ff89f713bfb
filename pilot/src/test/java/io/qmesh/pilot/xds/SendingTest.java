package io.qmesh.pilot.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SendingTest {

  @Test
  void aSharedResourceIsPackedOnceAndAnEqualCopyOnItsOwn() {
    SharedResourceSerializer serializer = new SharedResourceSerializer();
    Cluster shared =
        Cluster.newBuilder().setName("outbound|9080||reviews.default.svc.cluster.local").build();
    Any first = serializer.serialize(shared, Resources.ApiVersion.V3);
    assertThat(serializer.serialize(shared, Resources.ApiVersion.V3)).isSameAs(first);
    Cluster copy = shared.toBuilder().build();
    Any other = serializer.serialize(copy, Resources.ApiVersion.V3);
    assertThat(other).isNotSameAs(first).isEqualTo(first);
  }

  @Test
  void streamsAreSpreadOverOneExecutorPerThreadAndEachKeepsItsOrder() throws Exception {
    try (StreamExecutors group = new StreamExecutors(2)) {
      Executor a = group.next();
      Executor b = group.next();
      assertThat(a).isNotSameAs(b);
      assertThat(group.next()).isSameAs(a);
      List<Integer> seen = new ArrayList<>();
      Set<String> threads = new HashSet<>();
      CountDownLatch done = new CountDownLatch(1000);
      for (int i = 0; i < 1000; i++) {
        int n = i;
        a.execute(
            () -> {
              seen.add(n);
              threads.add(Thread.currentThread().getName());
              done.countDown();
            });
      }
      assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
      assertThat(seen).isSorted().hasSize(1000);
      assertThat(threads).hasSize(1);
    }
  }
}
