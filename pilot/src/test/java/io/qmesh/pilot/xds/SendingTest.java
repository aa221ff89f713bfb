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

  /**
   * A response's resources, packed through the sending thread's table: the shared {@code Any} of
   * each, more resources than the table has slots (so they evict each other), from two threads.
   */
  @Test
  void aResponsesResourcesGetTheirSharedAnysOnEveryThread() throws Exception {
    SharedResourceSerializer serializer = new SharedResourceSerializer();
    List<Cluster> clusters = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      clusters.add(Cluster.newBuilder().setName("outbound|9080||svc-" + i).build());
    }
    List<Any> first = List.copyOf(serializer.serialize(clusters, Resources.ApiVersion.V3));
    Runnable check =
        () -> {
          for (int round = 0; round < 3; round++) {
            List<Any> again = List.copyOf(serializer.serialize(clusters, Resources.ApiVersion.V3));
            for (int i = 0; i < clusters.size(); i++) {
              assertThat(again.get(i)).isSameAs(first.get(i));
            }
          }
        };
    Thread other = new Thread(check);
    java.util.concurrent.atomic.AtomicReference<Throwable> failed =
        new java.util.concurrent.atomic.AtomicReference<>();
    other.setUncaughtExceptionHandler((t, e) -> failed.set(e));
    other.start();
    check.run();
    other.join();
    assertThat(failed.get()).isNull();
    // The type URL is kept as bytes (protobuf's string field holds either form, and reading it
    // as a String turns it back), so framing the Any for each proxy copies it rather than encoding
    // it again.
    var typeUrl = Any.class.getDeclaredField("typeUrl_");
    typeUrl.setAccessible(true);
    assertThat(typeUrl.get(first.get(7))).isInstanceOf(com.google.protobuf.ByteString.class);
    assertThat(first.get(7).unpack(Cluster.class)).isEqualTo(clusters.get(7));
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
