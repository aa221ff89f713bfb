package io.qmesh.pilot;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * Pilot's entry point: Quarkus' own, after the JVM-wide settings that must be in place before
 * Quarkus loads Netty.
 */
@QuarkusMain
public final class PilotMain {

  /** Netty's largest buffer that a thread's pool cache takes back (Netty's default: 32 KiB). */
  static final String MAX_CACHED_BUFFER = "io.netty.allocator.maxCachedBufferCapacity";

  /**
   * gRPC frames each xDS response into one buffer of its size, up to 1 MiB: half a megabyte per
   * proxy for a route config of 1000 services. Past Netty's 32 KiB such a buffer goes back to its
   * pool chunk, a chunk is freed with its last buffer, and every push allocated, zeroed and freed
   * again about as much memory as it sent (a gigabyte for 2000 proxies: a fifth of pilot's CPU in
   * the push). Cached by the sending thread up to 1 MiB, the same buffers serve push after push.
   */
  static final int MAX_CACHED_BUFFER_BYTES = 1 << 20;

  private PilotMain() {}

  public static void main(String... args) {
    tuneNetty();
    Quarkus.run(args);
  }

  /** Sets Netty's buffer cache for xDS responses, unless the command line set it. */
  static void tuneNetty() {
    if (System.getProperty(MAX_CACHED_BUFFER) == null) {
      System.setProperty(MAX_CACHED_BUFFER, String.valueOf(MAX_CACHED_BUFFER_BYTES));
    }
  }
}
