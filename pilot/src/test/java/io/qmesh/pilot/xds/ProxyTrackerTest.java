package io.qmesh.pilot.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.qmesh.pilot.translate.Proxies;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A proxy is connected while it has a stream open, however its streams open and close. */
class ProxyTrackerTest {

  private static final String ID =
      "sidecar~127.0.0.1~reviews-v1-1.default~default.svc.cluster.local";
  private static final DiscoveryRequest FIRST =
      DiscoveryRequest.newBuilder()
          .setNode(Proxies.node(ID, Map.of("app", "reviews"), Map.of("NAMESPACE", "default")))
          .setTypeUrl("type.googleapis.com/envoy.config.cluster.v3.Cluster")
          .build();

  private final List<String> events = Collections.synchronizedList(new ArrayList<>());
  private final ProxyTracker tracker =
      new ProxyTracker(
          n -> events.add("connect"), n -> events.add("disconnect"), new SimpleMeterRegistry());

  @Test
  void aReconnectsNewStreamBeforeTheOldOneClosesKeepsTheProxyConnected() throws Exception {
    tracker.onV3StreamRequest(1, FIRST);
    tracker.onV3StreamRequest(2, FIRST);
    tracker.onStreamCloseWithError(1, "", new RuntimeException("reset"));

    assertThat(events).containsExactly("connect");
    assertThat(tracker.connection(ID)).isPresent();

    tracker.onStreamClose(2, "");
    assertThat(events).containsExactly("connect", "disconnect");
    assertThat(tracker.connection(ID)).isEmpty();
  }

  /**
   * Threads that each open and close streams of one proxy, as reconnects do on gRPC's threads: the
   * callbacks alternate (connect, disconnect, connect...), so the scheduler and the registry always
   * end where the streams are.
   */
  @Test
  void streamsOpeningAndClosingOnManyThreadsGiveAlternatingCallbacks() throws Exception {
    int threads = 4;
    int rounds = 5_000;
    AtomicLong streams = new AtomicLong();
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> workers = new ArrayList<>();
    List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
    for (int t = 0; t < threads; t++) {
      Thread w =
          new Thread(
              () -> {
                try {
                  go.await();
                  for (int i = 0; i < rounds; i++) {
                    long s = streams.incrementAndGet();
                    tracker.onV3StreamRequest(s, FIRST);
                    tracker.onStreamClose(s, "");
                  }
                } catch (Throwable e) {
                  failures.add(e);
                }
              });
      w.start();
      workers.add(w);
    }
    go.countDown();
    for (Thread w : workers) {
      w.join();
    }

    assertThat(failures).isEmpty();
    assertThat(tracker.connection(ID)).isEmpty();
    List<String> seen = List.copyOf(events);
    assertThat(seen).isNotEmpty();
    for (int i = 0; i < seen.size(); i++) {
      assertThat(seen.get(i)).as("event %d", i).isEqualTo(i % 2 == 0 ? "connect" : "disconnect");
    }
    assertThat(seen.get(seen.size() - 1)).isEqualTo("disconnect");
  }
}
