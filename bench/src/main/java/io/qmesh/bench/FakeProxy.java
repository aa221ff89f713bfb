package io.qmesh.bench;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.WireFormat;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One simulated sidecar on an ADS stream, state of the world or delta, subscribing as Envoy does:
 * every cluster and listener, then the assignments and route configs by name. It ACKs each response
 * at once and remembers, per type, the last version and when it arrived.
 */
final class FakeProxy {

  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

  record Seen(String version, long nanos, int bytes) {}

  /**
   * What a simulated proxy reads of a response: its version, type and nonce, and its size in bytes.
   */
  record Header(String version, String typeUrl, String nonce, int bytes) {}

  /**
   * Reads a response's version (field 1, state of the world's {@code version_info} and delta's
   * {@code system_version_info}), type (4) and nonce (5), skipping the resources.
   */
  static Header header(InputStream stream) {
    try {
      // grpc's message streams know their length: what is available is the whole message
      int bytes = stream.available();
      CodedInputStream in = CodedInputStream.newInstance(stream);
      String version = "";
      String type = "";
      String nonce = "";
      for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
        switch (WireFormat.getTagFieldNumber(tag)) {
          case 1 -> version = in.readStringRequireUtf8();
          case 4 -> type = in.readStringRequireUtf8();
          case 5 -> nonce = in.readStringRequireUtf8();
          default -> in.skipField(tag);
        }
      }
      return new Header(version, type, nonce, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final MethodDescriptor.Marshaller<Header> HEADER =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(Header value) {
          throw new UnsupportedOperationException();
        }

        @Override
        public Header parse(InputStream stream) {
          return header(stream);
        }
      };

  /**
   * The ADS method with a response reader that skips the resources: the load generator shares the
   * cores with pilot, so it must not spend them parsing what it does not look at.
   */
  static final MethodDescriptor<DiscoveryRequest, Header> ADS =
      AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod().toBuilder(
              AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod()
                  .getRequestMarshaller(),
              HEADER)
          .build();

  /** The delta ADS method, read the same way. */
  static final MethodDescriptor<DeltaDiscoveryRequest, Header> DELTA_ADS =
      AggregatedDiscoveryServiceGrpc.getDeltaAggregatedResourcesMethod().toBuilder(
              AggregatedDiscoveryServiceGrpc.getDeltaAggregatedResourcesMethod()
                  .getRequestMarshaller(),
              HEADER)
          .build();

  final Map<String, Seen> seen = new ConcurrentHashMap<>();
  private volatile boolean closing;
  private final Node node;
  private final StreamObserver<DiscoveryRequest> requests;
  private final StreamObserver<DeltaDiscoveryRequest> deltaRequests;

  FakeProxy(
      Channel channel,
      String id,
      Map<String, String> labels,
      List<String> edsNames,
      List<String> rdsNames,
      boolean delta) {
    Struct.Builder lb = Struct.newBuilder();
    labels.forEach((k, v) -> lb.putFields(k, Value.newBuilder().setStringValue(v).build()));
    node =
        Node.newBuilder()
            .setId(id)
            .setMetadata(
                Struct.newBuilder()
                    .putFields("LABELS", Value.newBuilder().setStructValue(lb).build()))
            .build();
    StreamObserver<Header> responses =
        new StreamObserver<>() {
          @Override
          public void onNext(Header r) {
            seen.put(r.typeUrl(), new Seen(r.version(), System.nanoTime(), r.bytes()));
            if (deltaRequests != null) {
              synchronized (FakeProxy.this) {
                deltaRequests.onNext(
                    DeltaDiscoveryRequest.newBuilder()
                        .setNode(node)
                        .setTypeUrl(r.typeUrl())
                        .setResponseNonce(r.nonce())
                        .build());
              }
            } else {
              send(r.typeUrl(), r.version(), r.nonce(), List.of());
            }
          }

          @Override
          public void onError(Throwable t) {
            if (!closing) {
              System.err.println(id + ": stream failed: " + t);
            }
          }

          @Override
          public void onCompleted() {}
        };
    if (delta) {
      requests = null;
      deltaRequests =
          ClientCalls.asyncBidiStreamingCall(
              channel.newCall(DELTA_ADS, CallOptions.DEFAULT), responses);
      synchronized (this) {
        for (String type : List.of(CDS, LDS)) {
          deltaRequests.onNext(
              DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type).build());
        }
        deltaRequests.onNext(
            DeltaDiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(EDS)
                .addAllResourceNamesSubscribe(edsNames)
                .build());
        deltaRequests.onNext(
            DeltaDiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(RDS)
                .addAllResourceNamesSubscribe(rdsNames)
                .build());
      }
      return;
    }
    deltaRequests = null;
    requests =
        ClientCalls.asyncBidiStreamingCall(channel.newCall(ADS, CallOptions.DEFAULT), responses);
    send(CDS, "", "", List.of());
    send(LDS, "", "", List.of());
    send(EDS, "", "", edsNames);
    send(RDS, "", "", rdsNames);
  }

  private final Map<String, List<String>> names = new ConcurrentHashMap<>();

  private synchronized void send(
      String type, String version, String nonce, List<String> resourceNames) {
    if (!resourceNames.isEmpty()) {
      names.put(type, resourceNames);
    }
    requests.onNext(
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(type)
            .setVersionInfo(version)
            .setResponseNonce(nonce)
            .addAllResourceNames(names.getOrDefault(type, List.of()))
            .build());
  }

  boolean hasAll() {
    return seen.keySet().containsAll(List.of(CDS, EDS, LDS, RDS));
  }

  void close() {
    closing = true;
    if (deltaRequests != null) {
      deltaRequests.onCompleted();
    } else {
      requests.onCompleted();
    }
  }
}
