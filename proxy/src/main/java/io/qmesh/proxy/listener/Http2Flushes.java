package io.qmesh.proxy.listener;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * HTTP/2 connections flush once per event-loop turn, not once per frame written. Vert.x flushes
 * each stream's writes as they are made unless they are answers to that connection's own read, so
 * the answers of many streams that arrive from upstream in one turn each cost a flush and a system
 * call of their own; Netty's {@link FlushConsolidationHandler}, just before the HTTP/2 handler,
 * turns them into one write at the end of the turn (as nginx writes an HTTP/2 connection's frames
 * once per event-loop iteration). HTTP/1.1 connections, one exchange at a time, are left as they
 * are.
 */
final class Http2Flushes {

  static final String NAME = "qmesh-flush-consolidation";

  private Http2Flushes() {}

  /** For servers' and clients' connection handlers: batches an HTTP/2 connection's flushes. */
  static void consolidate(HttpConnection connection) {
    if (connection instanceof ConnectionBase base) {
      var pipeline = base.channel().pipeline();
      ChannelHandlerContext http2 = pipeline.context(Http2ConnectionHandler.class);
      if (http2 != null && pipeline.get(NAME) == null) {
        pipeline.addBefore(
            http2.name(),
            NAME,
            new FlushConsolidationHandler(
                FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
      }
    }
  }
}
