package io.qmesh.proxy.listener;

import io.micrometer.core.instrument.Counter;
import io.qmesh.proxy.telemetry.IstioMetrics;
import io.vertx.core.net.NetSocket;

/** Byte pipes between two sockets that count what they carry, with back-pressure. */
final class Pipes {

  private Pipes() {}

  /**
   * Relays a proxied TCP connection both ways: what {@code down} (the client's side) sends goes to
   * {@code up} and back. With {@code series} (Istio's TCP metrics; null: none) the connection is
   * counted opened now and closed when {@code down} closes, and the bytes as received (from the
   * client) and sent (to it).
   */
  static void relay(NetSocket down, NetSocket up, IstioMetrics.TcpSeries series) {
    relay(down, up, series, null);
  }

  /** {@link #relay(NetSocket, NetSocket, IstioMetrics.TcpSeries)}, access-logged by {@code log}. */
  static void relay(NetSocket down, NetSocket up, IstioMetrics.TcpSeries series, TcpLogEntry log) {
    if (series != null) {
      series.opened().increment();
    }
    if (series != null || log != null) {
      down.closeHandler(
          v -> {
            if (series != null) {
              series.closed().increment();
            }
            if (log != null) {
              log.done(null);
            }
          });
    }
    pipe(down, up, series == null ? null : series.received(), log, true);
    pipe(up, down, series == null ? null : series.sent(), log, false);
  }

  /**
   * Pipes {@code from} to {@code to} until {@code from} ends (then {@code to} ends too) or fails
   * (then {@code to} closes), adding each chunk's size to {@code bytes} (null: not counted).
   * Resumes {@code from}, as {@code pipeTo} does.
   */
  static void pipe(NetSocket from, NetSocket to, Counter bytes) {
    pipe(from, to, bytes, null, false);
  }

  private static void pipe(
      NetSocket from, NetSocket to, Counter bytes, TcpLogEntry log, boolean received) {
    if (bytes == null && log == null) {
      from.pipeTo(to);
      return;
    }
    from.handler(
        b -> {
          if (bytes != null) {
            bytes.increment(b.length());
          }
          if (log != null) {
            if (received) {
              log.received += b.length();
            } else {
              log.sent += b.length();
            }
          }
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
