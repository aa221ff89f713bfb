package io.qmesh.pilot.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmesh.api.config.ConfigParser;
import io.qmesh.pilot.translate.Proxies;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which Sidecar applies to a proxy, and what its egress hosts import, as Istio reads them. */
class SidecarScopeTest {

  private static final String SERVICES =
      """
      apiVersion: v1
      kind: Service
      metadata: {name: reviews}
      spec:
        selector: {app: reviews}
        ports: [{name: http, port: 9080}, {name: http-admin, port: 8080}]
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: catalog, namespace: shop}
      spec:
        selector: {app: catalog}
        ports: [{name: http, port: 8000}]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: external}
      spec:
        hosts: [api.example.com]
        location: MESH_EXTERNAL
        resolution: DNS
        ports: [{number: 443, name: tls, protocol: TLS}]
      """;

  private static MeshSnapshot mesh(String sidecars) {
    return SnapshotBuilder.build(
        1, ConfigParser.parse(SERVICES + "---\n" + sidecars, "default"), List.of());
  }

  private static MeshService service(MeshSnapshot mesh, String hostname) {
    return mesh.service(hostname).orElseThrow();
  }

  private static final String ROOT_DEFAULT =
      """
      apiVersion: networking.istio.io/v1
      kind: Sidecar
      metadata: {name: default, namespace: istio-system}
      spec:
        egress: [{hosts: ["./*"]}]
      """;

  @Test
  void aSidecarSelectingTheWorkloadWinsOverTheNamespacesWhichWinsOverTheRootNamespaces() {
    String namespaceWide =
        """
        ---
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: {name: default}
        spec:
          egress: [{hosts: ["*/*"]}]
        """;
    String forReviews =
        """
        ---
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: {name: reviews}
        spec:
          workloadSelector: {labels: {app: reviews}}
          egress: [{hosts: ["~/*"]}]
        """;
    MeshSnapshot all = mesh(ROOT_DEFAULT + namespaceWide + forReviews);
    assertThat(all.sidecarScope(Proxies.named("reviews-v2")).key()).isEqualTo("default/reviews");
    assertThat(all.sidecarScope(Proxies.named("productpage")).key()).isEqualTo("default/default");
    assertThat(mesh(ROOT_DEFAULT).sidecarScope(Proxies.named("productpage")).key())
        .isEqualTo("istio-system/default");
    // Gateways are not scoped by Sidecars.
    assertThat(all.sidecarScope(Proxies.named("ingress"))).isSameAs(SidecarScope.ALL);
    assertThat(mesh("").sidecarScope(Proxies.named("productpage"))).isSameAs(SidecarScope.ALL);
  }

  @Test
  void hostsImportByNamespaceAndNameAndTheListenerForThePortDecides() {
    MeshSnapshot root = mesh(ROOT_DEFAULT);
    SidecarScope scope = root.sidecarScope(Proxies.named("productpage"));
    // "." in the root namespace's default is the proxy's own namespace.
    assertThat(scope.imports(service(root, "reviews.default.svc.cluster.local"), 9080)).isTrue();
    assertThat(scope.imports(service(root, "catalog.shop.svc.cluster.local"), 8000)).isFalse();

    MeshSnapshot perPort =
        mesh(
            """
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: default}
            spec:
              egress:
              - port: {number: 9080, protocol: HTTP, name: http}
                hosts: ["./reviews.default.svc.cluster.local"]
              - hosts: ["shop/*", "*/*.example.com"]
              outboundTrafficPolicy: {mode: REGISTRY_ONLY}
            """);
    scope = perPort.sidecarScope(Proxies.named("productpage"));
    MeshService reviews = service(perPort, "reviews.default.svc.cluster.local");
    assertThat(scope.imports(reviews, 9080)).isTrue();
    assertThat(scope.imports(reviews, 8080))
        .as("8080 falls to the listener without a port")
        .isFalse();
    assertThat(scope.imports(service(perPort, "catalog.shop.svc.cluster.local"), 8000)).isTrue();
    assertThat(scope.imports(service(perPort, "api.example.com"), 443)).isTrue();
    assertThat(scope.registryOnly()).isTrue();
    assertThat(root.sidecarScope(Proxies.named("productpage")).registryOnly()).isFalse();
  }
}
