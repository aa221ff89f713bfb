package io.qmesh.proxy.listener;

import io.netty.buffer.PooledByteBufAllocator;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * Plaintext upstream connections allocate from Netty's pooled allocator, as the listeners'
 * connections do. Vert.x gives its client connections an allocator whose {@code buffer()} is an
 * unpooled heap buffer: every request head the HTTP/1.1 encoder writes would be a new array, copied
 * again into a direct buffer before the socket takes it. TLS connections keep the allocator Vert.x
 * picks for its TLS engine (this change was measured on plaintext hops only).
 */
final class UpstreamBuffers {

  private UpstreamBuffers() {}

  /** For clients' connection handlers: a plaintext connection's buffers come from the pool. */
  static void pooled(HttpConnection connection) {
    if (connection instanceof ConnectionBase base && !base.isSsl()) {
      base.channel().config().setAllocator(PooledByteBufAllocator.DEFAULT);
    }
  }
}
