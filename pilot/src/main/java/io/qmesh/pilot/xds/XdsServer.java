package io.qmesh.pilot.xds;

import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The ADS endpoint (plaintext, 15010): java-control-plane's server over grpc-netty, its responses
 * sent by {@link StreamExecutors} under a {@link PushThrottle}.
 *
 * <p>Requests are handled on the transport's threads ({@code directExecutor}): an ACK only records
 * versions and opens the next watch, and a proxy's first request registers it (its workload is
 * saved to disk later, on pilot's own executor). gRPC's default hands every callback to a cached
 * thread pool, whose hand-offs were a tenth of pilot's CPU in a push to 2000 proxies. Nothing here
 * may block: responses are sent by {@link StreamExecutors}, where the throttle waits, and a
 * stream's end is handled on {@link #ends} (java-control-plane then takes the stream's monitor,
 * which a sender waiting for a permit holds).
 */
public final class XdsServer implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(XdsServer.class);

  /**
   * Buffers for xDS responses. gRPC frames a message into buffers of up to 1 MiB; Quarkus sets
   * Netty's pool to 64 KiB chunks (maxOrder 3), past which every buffer is a fresh, zeroed direct
   * allocation: a route config of 1000 services is 0.5 MB per proxy per push. Chunks of 2 MiB
   * (maxOrder 8, grpc-java's own choice) pool them.
   */
  private static final PooledByteBufAllocator ALLOCATOR =
      new PooledByteBufAllocator(
          true,
          PooledByteBufAllocator.defaultNumHeapArena(),
          PooledByteBufAllocator.defaultNumDirectArena(),
          PooledByteBufAllocator.defaultPageSize(),
          8,
          PooledByteBufAllocator.defaultSmallCacheSize(),
          PooledByteBufAllocator.defaultNormalCacheSize(),
          PooledByteBufAllocator.defaultUseCacheForAllThreads());

  /**
   * Room for a whole response in a connection's outbound buffer: with Netty's 64 KiB high-water
   * mark, a half-megabyte response flips the channel's writability several times, and each flip is
   * a pass over the flow control of every stream on the connection.
   */
  private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(1 << 20, 4 << 20);

  private final Server server;
  private final V3DiscoveryServer discovery;
  private final AggregatedDiscoveryServiceImplBase ads;
  private final StreamExecutors senders =
      new StreamExecutors(Runtime.getRuntime().availableProcessors());

  /** Where streams' ends are handled, off the transport's threads (see {@link PushThrottle}). */
  private final ExecutorService ends =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "xds-stream-end");
            t.setDaemon(true);
            return t;
          });

  /** How long a stream that does not drain keeps its throttle permit. */
  static final Duration THROTTLE_HOLD = Duration.ofSeconds(5);

  /**
   * @param throttle responses in flight at a time (Istio's {@code PILOT_PUSH_THROTTLE})
   */
  public XdsServer(String host, int port, MeshCache cache, ProxyTracker tracker, int throttle) {
    this.discovery =
        new V3DiscoveryServer(
            List.of(tracker), new NackAwareWatcher(cache), senders, new SharedResourceSerializer());
    this.ads =
        new PushThrottle(throttle, THROTTLE_HOLD)
            .wrap(discovery.getAggregatedDiscoveryServiceImpl(), ends);
    try {
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
              .directExecutor()
              .addService(ads)
              .permitKeepAliveTime(10, TimeUnit.SECONDS)
              .permitKeepAliveWithoutCalls(true)
              .withChildOption(ChannelOption.ALLOCATOR, ALLOCATOR)
              .withChildOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
              .build()
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot serve xDS on " + host + ":" + port + ": " + e.getMessage(), e);
    }
    LOG.infof("xDS (ADS) listening on %s:%d", host, server.getPort());
  }

  /** The ADS service, for the TLS port (15012) to serve too. */
  public io.grpc.BindableService ads() {
    return ads;
  }

  /** The port it listens on (useful when configured as 0). */
  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    // ADS streams never end on their own: cancel them at once (proxies keep their config and
    // reconnect), and wait for the streams' close callbacks before the caller stops the executors
    // they schedule on.
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
    senders.close();
    ends.shutdownNow();
  }
}
