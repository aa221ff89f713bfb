package io.qmesh.proxy.listener;

import io.micrometer.core.instrument.Counter;
import io.vertx.core.net.NetSocket;

/** Byte pipes between two sockets that count what they carry, with back-pressure. */
final class Pipes {

  private Pipes() {}

  /**
   * Pipes {@code from} to {@code to} until {@code from} ends (then {@code to} ends too) or fails
   * (then {@code to} closes), adding each chunk's size to {@code bytes} (null: not counted).
   * Resumes {@code from}, as {@code pipeTo} does.
   */
  static void pipe(NetSocket from, NetSocket to, Counter bytes) {
    if (bytes == null) {
      from.pipeTo(to);
      return;
    }
    from.handler(
        b -> {
          bytes.increment(b.length());
          to.write(b);
          if (to.writeQueueFull()) {
            from.pause();
            to.drainHandler(v -> from.resume());
          }
        });
    from.endHandler(v -> to.end());
    from.exceptionHandler(e -> to.close());
    from.resume();
  }
}
