package io.qmesh.proxy.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.ChannelOption;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The xDS client against a real java-control-plane server on 127.0.0.1. */
class XdsClientTest {

  private static final Node NODE =
      Node.newBuilder().setId("sidecar~127.0.0.1~test-1.default~default.svc.cluster.local").build();

  private final SimpleCache<String> cache = new SimpleCache<>(Node::getId);
  private final List<DiscoveryRequest> requests = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
  private final io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
  private Server server;
  private XdsClient client;

  private Server serve(int port) throws Exception {
    DiscoveryServerCallbacks record =
        new DiscoveryServerCallbacks() {
          @Override
          public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
            requests.add(request);
          }

          @Override
          public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {}
        };
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .withOption(ChannelOption.SO_REUSEADDR, true)
        .addService(
            new V3DiscoveryServer(List.of(record), cache).getAggregatedDiscoveryServiceImpl())
        .build()
        .start();
  }

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.shutdownNow();
    }
    exec.shutdownNow();
    vertx.close();
  }

  private static Snapshot snapshot(String version, String vhost) {
    ConfigSource ads =
        ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();
    Cluster cluster =
        Cluster.newBuilder()
            .setName("outbound|9080||reviews")
            .setType(Cluster.DiscoveryType.EDS)
            .setEdsClusterConfig(
                Cluster.EdsClusterConfig.newBuilder()
                    .setEdsConfig(ads)
                    .setServiceName("outbound|9080||reviews"))
            .build();
    ClusterLoadAssignment cla =
        ClusterLoadAssignment.newBuilder().setClusterName("outbound|9080||reviews").build();
    HttpConnectionManager hcm =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("x")
            .setRds(Rds.newBuilder().setConfigSource(ads).setRouteConfigName("9080"))
            .build();
    Listener listener =
        Listener.newBuilder()
            .setName("0.0.0.0_9080")
            .addFilterChains(
                FilterChain.newBuilder()
                    .addFilters(
                        Filter.newBuilder()
                            .setName("envoy.filters.network.http_connection_manager")
                            .setTypedConfig(Any.pack(hcm))))
            .build();
    RouteConfiguration routes =
        RouteConfiguration.newBuilder()
            .setName("9080")
            .addVirtualHosts(VirtualHost.newBuilder().setName(vhost).addDomains("*"))
            .build();
    return Snapshot.create(
        List.of(cluster), List.of(cla), List.of(listener), List.of(routes), List.of(), version);
  }

  private void connect(int port, java.util.function.Function<XdsResources, String> applier) {
    client = new XdsClient(vertx, "127.0.0.1", port, NODE, applier, exec, false);
    client.start();
  }

  @Test
  void receivesEveryTypeAndFollowsReferencedNames() throws Exception {
    server = serve(0);
    cache.setSnapshot(NODE.getId(), snapshot("1", "first"));
    connect(server.getPort(), r -> null);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                client.resources().routes().containsKey("9080")
                    && client.resources().endpoints().containsKey("outbound|9080||reviews"));
    assertThat(client.resources().clusters()).containsKey("outbound|9080||reviews");
    assertThat(client.resources().listeners()).containsKey("0.0.0.0_9080");
    assertThat(client.versions()).containsEntry("rds", "1").containsEntry("cds", "1");
    assertThat(requests).allSatisfy(r -> assertThat(r.getNode().getId()).isEqualTo(NODE.getId()));
    assertThat(requests)
        .anySatisfy(
            r -> {
              assertThat(r.getTypeUrl()).endsWith("RouteConfiguration");
              assertThat(r.getResourceNamesList()).containsExactly("9080");
            });
  }

  @Test
  void aRefusedUpdateIsNackedWithTheReasonAndTheOldConfigStays() throws Exception {
    server = serve(0);
    cache.setSnapshot(NODE.getId(), snapshot("1", "first"));
    connect(
        server.getPort(),
        r ->
            r.routes().values().stream()
                    .anyMatch(rc -> rc.getVirtualHosts(0).getName().equals("broken"))
                ? "virtual host broken: cannot compile"
                : null);
    await().atMost(Duration.ofSeconds(10)).until(() -> client.versions().get("rds").equals("1"));
    cache.setSnapshot(NODE.getId(), snapshot("2", "broken"));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> requests.stream().anyMatch(DiscoveryRequest::hasErrorDetail));
    DiscoveryRequest nack =
        requests.stream().filter(DiscoveryRequest::hasErrorDetail).findFirst().orElseThrow();
    assertThat(nack.getErrorDetail().getMessage()).isEqualTo("virtual host broken: cannot compile");
    assertThat(nack.getVersionInfo()).as("a NACK names the version still in force").isEqualTo("1");
    assertThat(client.resources().routes().get("9080").getVirtualHosts(0).getName())
        .isEqualTo("first");

    cache.setSnapshot(NODE.getId(), snapshot("3", "fixed"));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                client
                    .resources()
                    .routes()
                    .get("9080")
                    .getVirtualHosts(0)
                    .getName()
                    .equals("fixed"));
  }

  @Test
  void pilotGoneKeepsTheConfigAndAReconnectPicksUpChanges() throws Exception {
    server = serve(0);
    int port = server.getPort();
    cache.setSnapshot(NODE.getId(), snapshot("1", "first"));
    connect(port, r -> null);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> client.connected() && client.resources().routes().containsKey("9080"));
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(5)).until(() -> !client.connected());
    assertThat(client.resources().routes().get("9080").getVirtualHosts(0).getName())
        .isEqualTo("first");

    cache.setSnapshot(NODE.getId(), snapshot("2", "second"));
    server = serve(port);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                client
                    .resources()
                    .routes()
                    .get("9080")
                    .getVirtualHosts(0)
                    .getName()
                    .equals("second"));
    assertThat(client.connected()).isTrue();
  }
}
