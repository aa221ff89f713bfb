package io.qmesh.pilot.translate;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.qmesh.pilot.model.ProxyNode;
import java.util.Map;

/** The proxies the golden cases translate for, built from Envoy nodes as pilot receives them. */
public final class Proxies {

  private Proxies() {}

  public static Node node(String id, Map<String, String> labels, Map<String, String> metadata) {
    Struct.Builder lb = Struct.newBuilder();
    labels.forEach((k, v) -> lb.putFields(k, Value.newBuilder().setStringValue(v).build()));
    Struct.Builder md =
        Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(lb).build());
    metadata.forEach((k, v) -> md.putFields(k, Value.newBuilder().setStringValue(v).build()));
    return Node.newBuilder().setId(id).setMetadata(md).build();
  }

  public static ProxyNode named(String name) {
    return ProxyNode.from(
        switch (name) {
          case "productpage" ->
              node(
                  "sidecar~10.0.0.1~productpage-v1-5c9f8.default~default.svc.cluster.local",
                  Map.of("app", "productpage", "version", "v1"),
                  Map.of(
                      "NAMESPACE",
                      "default",
                      "WORKLOAD_NAME",
                      "productpage-v1",
                      "SERVICE_ACCOUNT",
                      "bookinfo-productpage"));
          case "reviews-v2" ->
              node(
                  "sidecar~10.0.0.4~reviews-v2-7d8f9.default~default.svc.cluster.local",
                  Map.of("app", "reviews", "version", "v2"),
                  Map.of(
                      "NAMESPACE",
                      "default",
                      "WORKLOAD_NAME",
                      "reviews-v2",
                      "SERVICE_ACCOUNT",
                      "bookinfo-reviews"));
          case "ingress" ->
              node(
                  "router~10.0.0.9~istio-ingressgateway-6d9c.istio-system~istio-system.svc.cluster.local",
                  Map.of("istio", "ingressgateway", "app", "istio-ingressgateway"),
                  Map.of("NAMESPACE", "istio-system", "WORKLOAD_NAME", "istio-ingressgateway"));
          case "echo" ->
              node(
                  "sidecar~10.0.0.30~echo-v1-9f8e7.default~default.svc.cluster.local",
                  Map.of("app", "echo", "version", "v1"),
                  Map.of("NAMESPACE", "default", "WORKLOAD_NAME", "echo-v1"));
          case "grpc" ->
              node(
                  "sidecar~10.0.0.20~grpc-client.default~default.svc.cluster.local",
                  Map.of("app", "grpc-client"),
                  Map.of("NAMESPACE", "default", "GENERATOR", "grpc"));
          default -> throw new IllegalArgumentException("no proxy named " + name);
        });
  }
}
