package io.qmesh.proxy.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.ChannelOption;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The xDS client speaking delta xDS to a real java-control-plane server on 127.0.0.1. */
class DeltaXdsClientTest {

  private static final Node NODE =
      Node.newBuilder().setId("sidecar~127.0.0.1~test-1.default~default.svc.cluster.local").build();
  private static final String EDS =
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

  private final SimpleCache<String> cache = new SimpleCache<>(Node::getId);
  private final List<DeltaDiscoveryRequest> requests = new CopyOnWriteArrayList<>();
  private final List<DeltaDiscoveryResponse> responses = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
  private final io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
  private Server server;
  private XdsClient client;

  private Server serve(int port) throws Exception {
    DiscoveryServerCallbacks record =
        new DiscoveryServerCallbacks() {
          @Override
          public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
            throw new AssertionError("a delta client sent a state-of-the-world request");
          }

          @Override
          public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
            requests.add(request);
          }

          @Override
          public void onV3StreamDeltaResponse(
              long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
            responses.add(response);
          }
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

  /** Services {@code svc-0..} on port 9080, each with one endpoint on {@code port0 + i}. */
  private static Snapshot snapshot(String version, String vhost, Map<String, Integer> services) {
    ConfigSource ads =
        ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> assignments = new ArrayList<>();
    services.forEach(
        (name, port) -> {
          String cluster = "outbound|9080||" + name;
          clusters.add(
              Cluster.newBuilder()
                  .setName(cluster)
                  .setType(Cluster.DiscoveryType.EDS)
                  .setEdsClusterConfig(
                      Cluster.EdsClusterConfig.newBuilder()
                          .setEdsConfig(ads)
                          .setServiceName(cluster))
                  .build());
          assignments.add(
              ClusterLoadAssignment.newBuilder()
                  .setClusterName(cluster)
                  .addEndpoints(
                      LocalityLbEndpoints.newBuilder()
                          .addLbEndpoints(
                              LbEndpoint.newBuilder()
                                  .setEndpoint(
                                      Endpoint.newBuilder()
                                          .setAddress(
                                              Address.newBuilder()
                                                  .setSocketAddress(
                                                      SocketAddress.newBuilder()
                                                          .setAddress("127.0.0.1")
                                                          .setPortValue(port))))))
                  .build());
        });
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
        clusters, assignments, List.of(listener), List.of(routes), List.of(), version);
  }

  private void connect(int port, Function<XdsResources, String> applier) {
    client = new XdsClient(vertx, "127.0.0.1", port, NODE, applier, exec, true);
    client.start();
  }

  /** The name of route config 9080's first virtual host, or null while there is none. */
  private String vhost() {
    RouteConfiguration rc = client.resources().routes().get("9080");
    return rc == null ? null : rc.getVirtualHosts(0).getName();
  }

  private int port(String service) {
    ClusterLoadAssignment cla = client.resources().endpoints().get("outbound|9080||" + service);
    return cla == null
        ? -1
        : cla.getEndpoints(0)
            .getLbEndpoints(0)
            .getEndpoint()
            .getAddress()
            .getSocketAddress()
            .getPortValue();
  }

  @Test
  void receivesEveryTypeAndSubscribesToTheReferencedNames() throws Exception {
    server = serve(0);
    cache.setSnapshot(NODE.getId(), snapshot("1", "first", Map.of("a", 1001, "b", 1002)));
    connect(server.getPort(), r -> null);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                client.resources().routes().containsKey("9080")
                    && client.resources().endpoints().size() == 2);
    assertThat(client.delta()).isTrue();
    assertThat(client.resources().clusters())
        .containsOnlyKeys("outbound|9080||a", "outbound|9080||b");
    assertThat(client.resources().listeners()).containsOnlyKeys("0.0.0.0_9080");
    assertThat(client.versions()).containsEntry("cds", "1").containsEntry("rds", "1");
    assertThat(requests).allSatisfy(r -> assertThat(r.getNode().getId()).isEqualTo(NODE.getId()));
    assertThat(requests)
        .filteredOn(r -> r.getTypeUrl().equals(EDS) && r.getResourceNamesSubscribeCount() > 0)
        .singleElement()
        .satisfies(
            r ->
                assertThat(r.getResourceNamesSubscribeList())
                    .containsExactly("outbound|9080||a", "outbound|9080||b"));
  }

  @Test
  void anEndpointChangeIsSentAloneAndTheOthersStay() throws Exception {
    server = serve(0);
    Map<String, Integer> services = new java.util.TreeMap<>();
    for (int i = 0; i < 50; i++) {
      services.put("svc-" + i, 2000 + i);
    }
    cache.setSnapshot(NODE.getId(), snapshot("1", "first", services));
    connect(server.getPort(), r -> null);
    await().atMost(Duration.ofSeconds(10)).until(() -> client.resources().endpoints().size() == 50);
    int before = responses.size();

    services.put("svc-7", 3007);
    cache.setSnapshot(NODE.getId(), snapshot("2", "first", services));
    await().atMost(Duration.ofSeconds(10)).until(() -> port("svc-7") == 3007);

    List<DeltaDiscoveryResponse> after = responses.subList(before, responses.size());
    assertThat(after).singleElement().satisfies(r -> assertThat(r.getTypeUrl()).isEqualTo(EDS));
    assertThat(after.get(0).getResourcesList())
        .singleElement()
        .satisfies(r -> assertThat(r.getName()).isEqualTo("outbound|9080||svc-7"));
    assertThat(client.resources().endpoints()).hasSize(50);
    assertThat(port("svc-8")).isEqualTo(2008);
    // Nothing else changed, so nothing else was sent: the clusters stay at the first version.
    assertThat(client.versions()).containsEntry("eds", "2").containsEntry("cds", "1");
  }

  @Test
  void aRemovedServiceIsDroppedWithItsAssignment() throws Exception {
    server = serve(0);
    cache.setSnapshot(NODE.getId(), snapshot("1", "first", Map.of("a", 1001, "b", 1002)));
    connect(server.getPort(), r -> null);
    await().atMost(Duration.ofSeconds(10)).until(() -> client.resources().endpoints().size() == 2);

    cache.setSnapshot(NODE.getId(), snapshot("2", "first", Map.of("a", 1001)));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                client.resources().clusters().keySet().equals(java.util.Set.of("outbound|9080||a"))
                    && client.resources().endpoints().size() == 1);
    assertThat(client.resources().endpoints()).containsOnlyKeys("outbound|9080||a");
    assertThat(requests)
        .anySatisfy(
            r -> {
              assertThat(r.getTypeUrl()).isEqualTo(EDS);
              assertThat(r.getResourceNamesUnsubscribeList()).containsExactly("outbound|9080||b");
            });
  }

  @Test
  void aRefusedUpdateIsNackedWithTheReasonAndTheOldConfigStays() throws Exception {
    server = serve(0);
    cache.setSnapshot(NODE.getId(), snapshot("1", "first", Map.of("a", 1001)));
    connect(
        server.getPort(),
        r ->
            r.routes().values().stream()
                    .anyMatch(rc -> rc.getVirtualHosts(0).getName().equals("broken"))
                ? "virtual host broken: cannot compile"
                : null);
    await().atMost(Duration.ofSeconds(10)).until(() -> "1".equals(client.versions().get("rds")));
    cache.setSnapshot(NODE.getId(), snapshot("2", "broken", Map.of("a", 1001)));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> requests.stream().anyMatch(DeltaDiscoveryRequest::hasErrorDetail));
    DeltaDiscoveryRequest nack =
        requests.stream().filter(DeltaDiscoveryRequest::hasErrorDetail).findFirst().orElseThrow();
    assertThat(nack.getErrorDetail().getMessage()).isEqualTo("virtual host broken: cannot compile");
    assertThat(nack.getResponseNonce()).isNotEmpty();
    assertThat(vhost()).isEqualTo("first");
    assertThat(client.versions()).containsEntry("rds", "1");

    cache.setSnapshot(NODE.getId(), snapshot("3", "fixed", Map.of("a", 1001)));
    await().atMost(Duration.ofSeconds(10)).until(() -> "fixed".equals(vhost()));
    assertThat(requests.stream().filter(DeltaDiscoveryRequest::hasErrorDetail)).hasSize(1);
  }

  @Test
  void aReconnectTakesPilotsStateWholeDroppingWhatWentAwayMeanwhile() throws Exception {
    server = serve(0);
    int port = server.getPort();
    cache.setSnapshot(NODE.getId(), snapshot("1", "first", Map.of("a", 1001, "b", 1002)));
    connect(port, r -> null);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> client.resources().endpoints().size() == 2 && "first".equals(vhost()));
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(5)).until(() -> !client.connected());
    assertThat(client.resources().clusters()).hasSize(2);

    // While the stream is down, b goes and a moves: pilot (this server) does not send removals
    // for what it never sent on the new stream.
    cache.setSnapshot(NODE.getId(), snapshot("2", "second", Map.of("a", 1003)));
    server = serve(port);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                client.connected()
                    && client.resources().clusters().size() == 1
                    && port("a") == 1003
                    && "second".equals(vhost()));
    assertThat(client.resources().clusters()).containsOnlyKeys("outbound|9080||a");
    assertThat(client.resources().endpoints()).containsOnlyKeys("outbound|9080||a");
  }
}
