package io.qmesh.pilot.xds;

import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A minimal delta ADS client standing in for a proxy: subscribes to every cluster and listener
 * (wildcard), and to assignments by name when told; records each response and ACKs it, or NACKs the
 * type told to reject.
 */
final class DeltaAdsClient implements AutoCloseable {

  static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

  private final ManagedChannel channel;
  private final StreamObserver<DeltaDiscoveryRequest> requests;
  private final Node node;
  private final List<DeltaDiscoveryResponse> responses = new CopyOnWriteArrayList<>();
  private volatile String rejectType = "";

  DeltaAdsClient(int port, Node node) {
    this.node = node;
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    requests =
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .deltaAggregatedResources(
                new StreamObserver<>() {
                  @Override
                  public void onNext(DeltaDiscoveryResponse r) {
                    responses.add(r);
                    DeltaDiscoveryRequest.Builder next =
                        DeltaDiscoveryRequest.newBuilder()
                            .setNode(node)
                            .setTypeUrl(r.getTypeUrl())
                            .setResponseNonce(r.getNonce());
                    if (r.getTypeUrl().equals(rejectType)) {
                      next.setErrorDetail(
                          Status.newBuilder()
                              .setCode(3)
                              .setMessage("test proxy rejects " + r.getSystemVersionInfo()));
                    }
                    send(next.build());
                  }

                  @Override
                  public void onError(Throwable t) {}

                  @Override
                  public void onCompleted() {}
                });
    send(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(AdsClient.CDS).build());
    send(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(AdsClient.LDS).build());
  }

  private synchronized void send(DeltaDiscoveryRequest r) {
    requests.onNext(r);
  }

  /** Subscribes to these assignments. */
  void subscribe(String typeUrl, List<String> names) {
    send(
        DeltaDiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(typeUrl)
            .addAllResourceNamesSubscribe(names)
            .build());
  }

  /** NACK every response of this type from now on. */
  void reject(String typeUrl) {
    rejectType = typeUrl;
  }

  List<DeltaDiscoveryResponse> responses(String typeUrl) {
    return responses.stream().filter(r -> r.getTypeUrl().equals(typeUrl)).toList();
  }

  /** Every resource name this type's responses carried, in order. */
  List<String> names(String typeUrl) {
    return responses(typeUrl).stream()
        .flatMap(r -> r.getResourcesList().stream().map(res -> res.getName()))
        .toList();
  }

  @Override
  public void close() throws InterruptedException {
    requests.onCompleted();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
