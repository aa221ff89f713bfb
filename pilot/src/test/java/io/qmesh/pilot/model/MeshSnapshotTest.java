package io.qmesh.pilot.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmesh.api.config.ConfigParser;
import io.qmesh.pilot.translate.Proxies;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MeshSnapshotTest {

  private static MeshSnapshot mesh(String yaml, List<Workload> registered) {
    return SnapshotBuilder.build(1, ConfigParser.parse(yaml, "default"), registered);
  }

  private static final String REGISTRY =
      """
      apiVersion: v1
      kind: Service
      metadata: {name: reviews}
      spec:
        selector: {app: reviews}
        ports:
        - {name: http, port: 9080}
        - {name: http-admin, port: 8080, targetPort: admin}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: manual}
      spec:
        ports: [{name: http, port: 80}]
      ---
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata: {name: reviews-v1}
      spec:
        address: 10.0.0.3
        labels: {app: reviews, version: v1}
        ports: {admin: 18080}
      ---
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata: {name: reviews-other-ns, namespace: shop}
      spec:
        address: 10.0.9.9
        labels: {app: reviews}
      """;

  @Test
  void endpointsComeFromSelectedWorkloadsInTheServicesNamespace() {
    Workload registered =
        new Workload(
            "reviews-v2",
            "default",
            Map.of("app", "reviews", "version", "v2"),
            "127.0.0.1",
            Map.of("http", 21080),
            "bookinfo-reviews",
            Workload.Source.PROXY);
    MeshSnapshot mesh = mesh(REGISTRY, List.of(registered));
    MeshService reviews = mesh.service("reviews.default.svc.cluster.local").orElseThrow();
    assertThat(mesh.endpoints(reviews, reviews.port(9080).orElseThrow()))
        .containsExactly(
            new Endpoint(
                "10.0.0.3",
                9080,
                Map.of("app", "reviews", "version", "v1"),
                "reviews-v1",
                "spiffe://cluster.local/ns/default/sa/default",
                "default"),
            new Endpoint(
                "127.0.0.1",
                21080,
                Map.of("app", "reviews", "version", "v2"),
                "reviews-v2",
                "spiffe://cluster.local/ns/default/sa/bookinfo-reviews",
                "default"));
    assertThat(mesh.endpoints(reviews, reviews.port(8080).orElseThrow()))
        .extracting(Endpoint::port)
        .as("a named target port resolves per workload; unnamed falls back to the service port")
        .containsExactly(18080, 8080);
  }

  @Test
  void aServiceWithoutASelectorHasNoEndpoints() {
    MeshSnapshot mesh = mesh(REGISTRY, List.of());
    MeshService manual = mesh.service("manual.default.svc.cluster.local").orElseThrow();
    assertThat(mesh.endpoints(manual, manual.ports().get(0))).isEmpty();
  }

  @Test
  void servicesOfAProxyAreThoseSelectingItsLabels() {
    MeshSnapshot mesh = mesh(REGISTRY, List.of());
    assertThat(mesh.servicesOf(Proxies.named("reviews-v2")))
        .extracting(MeshService::hostname)
        .containsExactly("reviews.default.svc.cluster.local");
    assertThat(mesh.servicesOf(Proxies.named("productpage"))).isEmpty();
  }

  @Test
  void proxyNodesReadIstiosMetadata() {
    ProxyNode ingress = Proxies.named("ingress");
    assertThat(ingress.type()).isEqualTo(ProxyNode.Type.ROUTER);
    assertThat(ingress.namespace()).isEqualTo("istio-system");
    assertThat(ingress.labels()).containsEntry("istio", "ingressgateway");
    ProxyNode grpc = Proxies.named("grpc");
    assertThat(grpc.proxyless()).isTrue();
    assertThat(grpc.podName()).isEqualTo("grpc-client");
  }

  @Test
  void protocolsFollowIstiosPortNaming() {
    assertThat(Protocol.of("http-web", null)).isEqualTo(Protocol.HTTP);
    assertThat(Protocol.of("grpc", null)).isEqualTo(Protocol.GRPC);
    assertThat(Protocol.of("tcp-db", null)).isEqualTo(Protocol.TCP);
    assertThat(Protocol.of("web", "kubernetes.io/h2c")).isEqualTo(Protocol.HTTP2);
    assertThat(Protocol.of("", null)).isEqualTo(Protocol.UNKNOWN);
  }
}
