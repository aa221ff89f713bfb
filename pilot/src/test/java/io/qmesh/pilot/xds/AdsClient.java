package io.qmesh.pilot.xds;

import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A minimal ADS client standing in for a proxy: subscribes to every cluster and listener, records
 * each response, and ACKs it, or NACKs the types told to reject.
 */
final class AdsClient implements AutoCloseable {

  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";

  private final ManagedChannel channel;
  private final StreamObserver<DiscoveryRequest> requests;
  private final Node node;
  private final List<DiscoveryResponse> responses = new CopyOnWriteArrayList<>();
  private final Map<String, String> acked = new ConcurrentHashMap<>();
  private final AtomicReference<Throwable> error = new AtomicReference<>();
  private volatile String rejectType = "";
  private final boolean nodeOnFirstMessageOnly;

  AdsClient(int port, Node node) {
    this(port, node, false);
  }

  AdsClient(int port, Node node, boolean nodeOnFirstMessageOnly) {
    this.node = node;
    this.nodeOnFirstMessageOnly = nodeOnFirstMessageOnly;
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    requests =
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .streamAggregatedResources(
                new StreamObserver<>() {
                  @Override
                  public void onNext(DiscoveryResponse r) {
                    responses.add(r);
                    // Like Envoy by default, every request carries the node.
                    DiscoveryRequest.Builder next =
                        DiscoveryRequest.newBuilder()
                            .setNode(nodeOnFirstMessageOnly ? Node.getDefaultInstance() : node)
                            .setTypeUrl(r.getTypeUrl())
                            .setResponseNonce(r.getNonce());
                    if (r.getTypeUrl().equals(rejectType)) {
                      next.setVersionInfo(acked.getOrDefault(r.getTypeUrl(), ""))
                          .setErrorDetail(
                              Status.newBuilder()
                                  .setCode(3)
                                  .setMessage("test proxy rejects " + r.getVersionInfo()));
                    } else {
                      acked.put(r.getTypeUrl(), r.getVersionInfo());
                      next.setVersionInfo(r.getVersionInfo());
                    }
                    requests().onNext(next.build());
                  }

                  @Override
                  public void onError(Throwable t) {
                    error.set(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build());
    requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LDS).build());
  }

  private StreamObserver<DiscoveryRequest> requests() {
    return requests;
  }

  /** NACK every response of this type from now on. */
  void reject(String typeUrl) {
    rejectType = typeUrl;
  }

  List<DiscoveryResponse> responses(String typeUrl) {
    return responses.stream().filter(r -> r.getTypeUrl().equals(typeUrl)).toList();
  }

  String acked(String typeUrl) {
    return acked.getOrDefault(typeUrl, "");
  }

  Throwable error() {
    return error.get();
  }

  Node node() {
    return node;
  }

  @Override
  public void close() throws InterruptedException {
    requests.onCompleted();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
