package io.qmesh.pilot.xds;

import io.envoyproxy.controlplane.server.ExecutorGroup;
import io.netty.util.concurrent.FastThreadLocalThread;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where xDS responses are serialized and sent: one single-thread executor per core, handed to
 * streams in turn, so a push uses every core while each stream keeps its responses in order.
 * (java-control-plane's default sends on the thread that sets the snapshot: one core.)
 */
final class StreamExecutors implements ExecutorGroup, AutoCloseable {

  private final ExecutorService[] executors;
  private final AtomicInteger next = new AtomicInteger();

  StreamExecutors(int threads) {
    executors = new ExecutorService[threads];
    for (int i = 0; i < threads; i++) {
      int n = i;
      executors[i] =
          Executors.newSingleThreadExecutor(
              r -> {
                // Netty's thread: its pool caches the buffers this thread frames responses into.
                Thread t = new FastThreadLocalThread(r, "xds-send-" + n);
                t.setDaemon(true);
                return t;
              });
    }
  }

  @Override
  public Executor next() {
    return executors[Math.floorMod(next.getAndIncrement(), executors.length)];
  }

  @Override
  public void close() {
    for (ExecutorService e : executors) {
      e.shutdownNow();
    }
  }
}
