package io.qmesh.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.qmesh.testing.LocalMesh;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The egress gateway as its packaged app, with only pilot's address given: it connects as Istio's
 * {@code istio-egressgateway} (labels {@code istio: egressgateway}), so Gateways selecting the
 * egress gateway open their ports on it and those selecting the ingress gateway do not, and its
 * routes lead to a ServiceEntry's external endpoint as in Istio's egress gateway task.
 */
class EgressGatewayIT {

  private static LocalMesh mesh;
  private static int admin;

  @BeforeAll
  static void start() throws Exception {
    mesh = new LocalMesh(Path.of(System.getProperty("qmesh.root", "..")));
    mesh.startPilot();
    admin =
        mesh.start(
            "egress-gateway",
            "egress-gateway",
            Map.of(
                "QMESH_GATEWAY_PILOT", mesh.pilotXds(), "QMESH_GATEWAY_LISTEN_HOST", "127.0.0.1"));
    // Ready once pilot has sent it a config: apply something for it to receive.
    mesh.apply(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: placeholder}
        spec:
          selector: {app: placeholder}
          ports: [{name: http, port: 9080}]
        """);
    mesh.awaitReady(admin);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    mesh.close();
  }

  @Test
  void egressGatewaysRouteToExternalServicesAndIngressGatewaysAreNotItsBusiness() throws Exception {
    int outside = mesh.app("outside");
    int egressPort = LocalMesh.freePort();
    int ingressPort = LocalMesh.freePort();
    mesh.apply(
        """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: outside}
        spec:
          hosts: [outside.example.com]
          location: MESH_EXTERNAL
          resolution: STATIC
          ports: [{number: %1$d, name: http, protocol: HTTP}]
          endpoints: [{address: 127.0.0.1}]
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: istio-egressgateway}
        spec:
          selector: {istio: egressgateway}
          servers:
          - port: {number: %2$d, name: http, protocol: HTTP}
            hosts: [outside.example.com]
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: some-ingress}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: %3$d, name: http, protocol: HTTP}
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: outside-through-egress}
        spec:
          hosts: [outside.example.com]
          gateways: [istio-egressgateway]
          http:
          - route:
            - destination: {host: outside.example.com, port: {number: %1$d}}
        """
            .formatted(outside, egressPort, ingressPort));
    await()
        .atMost(Duration.ofSeconds(15))
        .ignoreExceptions()
        .until(() -> get(egressPort, "outside.example.com", "/x").startsWith("HTTP/1.1 200"));
    assertThat(get(egressPort, "outside.example.com", "/x"))
        .contains("outside GET /x host=outside.example.com");
    mesh.assertEpollTransport("egress-gateway");
    assertThat(mesh.get(admin, "/config_dump").body())
        .contains("\"" + egressPort + "\"")
        .doesNotContain("\"" + ingressPort + "\"");
    assertThat(mesh.get(mesh.pilotHttp(), "/debug/connections").body())
        .contains("router~127.0.0.1~istio-egressgateway-")
        .contains("\"namespace\":\"istio-system\"");
  }

  private static String get(int port, String host, String path) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(5_000);
      s.getOutputStream()
          .write(
              ("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }
  }
}
