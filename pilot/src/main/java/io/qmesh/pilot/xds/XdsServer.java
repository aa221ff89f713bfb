package io.qmesh.pilot.xds;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/** The ADS endpoint (plaintext, 15010): java-control-plane's server over grpc-netty. */
public final class XdsServer implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(XdsServer.class);

  private final Server server;
  private final V3DiscoveryServer discovery;
  private final StreamExecutors senders =
      new StreamExecutors(Runtime.getRuntime().availableProcessors());

  public XdsServer(String host, int port, SimpleCache<String> cache, ProxyTracker tracker) {
    this.discovery =
        new V3DiscoveryServer(
            List.of(tracker), new NackAwareWatcher(cache), senders, new SharedResourceSerializer());
    try {
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
              .addService(discovery.getAggregatedDiscoveryServiceImpl())
              .permitKeepAliveTime(10, TimeUnit.SECONDS)
              .permitKeepAliveWithoutCalls(true)
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
    return discovery.getAggregatedDiscoveryServiceImpl();
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
  }
}
