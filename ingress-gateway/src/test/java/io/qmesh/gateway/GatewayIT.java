package io.qmesh.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.qmesh.testing.LocalMesh;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ingress gateway driven by a real pilot, with a workload behind its sidecar, all as processes
 * on 127.0.0.1: a Gateway and a VirtualService in Istio's form open a port on the gateway and route
 * it to the workload; deleting the Gateway closes the port.
 */
class GatewayIT {

  private static LocalMesh mesh;
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    mesh = new LocalMesh(Path.of(System.getProperty("qmesh.root", "..")));
    mesh.startPilot();
    mesh.apply(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          selector: {app: web}
          ports: [{name: http, port: 9080}]
        """);
    int app = mesh.app("web-v1");
    mesh.awaitReady(
        mesh.start(
            "sidecar-web",
            "sidecar",
            mesh.sidecarEnv(
                "web-v1",
                "app=web,version=v1",
                "web",
                "9080:" + LocalMesh.freePort() + ":" + app,
                LocalMesh.freePort())));
    mesh.awaitReady(
        mesh.start(
            "ingress-gateway",
            "ingress-gateway",
            Map.of(
                "QMESH_GATEWAY_PILOT", mesh.pilotXds(), "QMESH_GATEWAY_LISTEN_HOST", "127.0.0.1")));
  }

  @AfterAll
  static void stop() throws InterruptedException {
    mesh.close();
  }

  private static final String GATEWAY =
      """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: {name: web-gateway}
      spec:
        selector: {istio: ingressgateway}
        servers:
        - port: {number: %d, name: http, protocol: HTTP}
          hosts: ["*"]
      """;

  @Test
  void aGatewayOpensAPortThatRoutesThroughTheSidecarToTheApp() throws Exception {
    int port = LocalMesh.freePort();
    mesh.apply(
        GATEWAY.formatted(port)
            + """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: web}
        spec:
          hosts: ["*"]
          gateways: [web-gateway]
          http:
          - match:
            - uri: {exact: /productpage}
            - uri: {prefix: /static}
            route:
            - destination: {host: web, port: {number: 9080}}
        """);
    await()
        .atMost(Duration.ofSeconds(15))
        .ignoreExceptions()
        .until(() -> get(port, "/productpage").statusCode() == 200);
    assertThat(get(port, "/productpage").body())
        .isEqualTo("web-v1 GET /productpage host=127.0.0.1:" + port + " end-user=null");
    assertThat(get(port, "/static/app.css").body()).startsWith("web-v1 GET /static/app.css");
    mesh.assertEpollTransport("ingress-gateway");
    HttpResponse<String> other = get(port, "/other");
    assertThat(other.statusCode()).isEqualTo(404);
    assertThat(other.body()).isEqualTo("no route (NR)\n");

    HttpResponse<String> deleted =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + mesh.pilotHttp() + "/apis/delete"))
                .POST(HttpRequest.BodyPublishers.ofString(GATEWAY.formatted(port)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(deleted.body()).contains("\"result\":\"deleted\"");
    await().atMost(Duration.ofSeconds(15)).until(() -> !accepting(port));
  }

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static boolean accepting(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
