package io.qmesh.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmesh.testing.LocalMesh;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Istio's mutual TLS through real sidecars and a real CA (pilot's, on its TLS port), all processes
 * on 127.0.0.1: a reachability matrix in the spirit of Istio's security tests. PeerAuthentication
 * STRICT / PERMISSIVE / DISABLE on the server x DestinationRule ISTIO_MUTUAL / DISABLE / none on
 * the client x a meshed client (through its sidecar) and an unmeshed one (plain HTTP straight to
 * the server's inbound port), each cell with its expected result, for an HTTP port and a TCP port
 * (the meshed client's TCP goes as a CONNECT tunnel through its sidecar, as the laptop mode's).
 */
class MutualTlsIT {

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();
  private static LocalMesh mesh;
  private static int serverInbound;
  private static int serverTcpInbound;
  private static int clientOutbound;
  private static int serverAdmin;
  private static int clientAdmin;
  private static HttpClient viaSidecar;
  private static final HttpClient plain =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(2))
          .build();

  @BeforeAll
  static void start() throws Exception {
    mesh = new LocalMesh(Path.of(System.getProperty("qmesh.root", "..")));
    mesh.startPilot();
    mesh.apply(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: echo}
        spec:
          selector: {app: echo}
          ports: [{name: http, port: 9080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo-tcp}
        spec:
          selector: {app: echo}
          ports: [{name: tcp, port: 9090}]
        """);
    int app = mesh.app("echo");
    int tcpApp = mesh.tcpApp("echo-tcp");
    serverInbound = LocalMesh.freePort();
    serverTcpInbound = LocalMesh.freePort();
    serverAdmin =
        mesh.start(
            "sidecar-mtls-echo",
            "sidecar",
            mesh.sidecarEnv(
                "echo",
                "app=echo,version=v1",
                "echo",
                "9080:"
                    + serverInbound
                    + ":"
                    + app
                    + ",9090:"
                    + serverTcpInbound
                    + ":"
                    + tcpApp
                    + "/tcp",
                LocalMesh.freePort()));
    mesh.awaitReady(serverAdmin);
    clientOutbound = LocalMesh.freePort();
    clientAdmin =
        mesh.start(
            "sidecar-mtls-client",
            "sidecar",
            mesh.sidecarEnv("client", "app=client", "client", null, clientOutbound));
    mesh.awaitReady(clientAdmin);
    viaSidecar =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", clientOutbound)))
            .build();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    mesh.close();
  }

  @Test
  void requestsBetweenSidecarsShareAFewHttp2ConnectionsAndReachTheAppAsHttp11() throws Exception {
    applyPolicies(new Cell("STRICT", null, true, false));
    // 60 at once from the app's HTTP/1.1 client: 60 connections to its sidecar, a few mTLS
    // connections (HTTP/2 by ALPN) on to the server's sidecar, HTTP/1.1 to the app, which sees
    // the service's host and each body.
    List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      all.add(
          viaSidecar.sendAsync(
              HttpRequest.newBuilder(URI.create("http://echo:9080/mux/" + i))
                  .timeout(Duration.ofSeconds(20))
                  .POST(
                      i % 2 == 0
                          ? HttpRequest.BodyPublishers.ofString("body-" + i)
                          : HttpRequest.BodyPublishers.noBody())
                  .build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    for (int i = 0; i < 60; i++) {
      HttpResponse<String> r = all.get(i).get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.body()).startsWith("echo POST /mux/" + i + " host=echo:9080 ");
    }
    assertThat(establishedTo(serverInbound))
        .as("mTLS connections into the server's sidecar")
        .isBetween(1L, 4L);
  }

  @Test
  void mutualTlsAndTheControlPlaneStreamsLoadNeitherBouncyCastlesProviderNorGrpcJava()
      throws Exception {
    applyPolicies(new Cell("STRICT", null, true, false));
    HttpResponse<String> r =
        viaSidecar.send(
            HttpRequest.newBuilder(URI.create("http://echo:9080/jdk-tls")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    // Both ends built their TLS contexts and wrapped ALPN engines, where Netty instantiates
    // BouncyCastle's JCA provider (some 700 classes) when it can load it; the sidecar's
    // packaging leaves the provider out, the CA client's ASN.1 and PKCS#10 classes in.
    for (String sidecar : List.of("sidecar-mtls-client", "sidecar-mtls-echo")) {
      List<String> classes = mesh.loadedClasses(sidecar);
      assertThat(classes).as(sidecar).contains("io.netty.handler.ssl.JdkSslServerContext");
      assertThat(
              classes.stream()
                  .filter(
                      c ->
                          c.startsWith("org.bouncycastle.jcajce.provider.")
                              || c.startsWith("org.bouncycastle.jce.provider."))
                  .limit(5))
          .as(sidecar)
          .isEmpty();
      // The certificate (CA) and the config (xDS) came over Vert.x's gRPC client; gRPC-java's
      // channel, with its event loop, buffer pool and Guava, stays unloaded.
      assertThat(classes).as(sidecar).contains("io.vertx.grpc.client.impl.GrpcClientImpl");
      assertThat(
              classes.stream()
                  .filter(
                      c ->
                          c.startsWith("io.grpc.internal.")
                              || c.startsWith("io.grpc.netty.")
                              || c.startsWith("com.google.common."))
                  .limit(5))
          .as(sidecar)
          .isEmpty();
    }
  }

  /** TCP connections established to {@code port} on 127.0.0.1 (IPv4 and IPv6 tables). */
  private static long establishedTo(int port) throws Exception {
    String local = String.format(":%04X ", port);
    long n = 0;
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      Path p = Path.of(table);
      if (!java.nio.file.Files.exists(p)) {
        continue;
      }
      for (String line : java.nio.file.Files.readAllLines(p)) {
        String[] f = line.trim().split("\\s+");
        // local_address rem_address st: the server's end of each connection, state 01.
        if (f.length > 3 && (f[1] + " ").endsWith(local) && f[3].equals("01")) {
          n++;
        }
      }
    }
    return n;
  }

  /** One cell: the policies, and whether each client gets through. */
  record Cell(String peerAuth, String destinationRule, boolean meshed, boolean unmeshed) {}

  @Test
  void reachabilityMatrix() throws Exception {
    List<Cell> cells =
        List.of(
            // Auto mTLS (no DestinationRule TLS): mTLS to a mesh workload, plaintext when its
            // PeerAuthentication disables it.
            new Cell("PERMISSIVE", null, true, true),
            new Cell("STRICT", null, true, false),
            new Cell("DISABLE", null, true, true),
            new Cell("STRICT", "ISTIO_MUTUAL", true, false),
            new Cell("PERMISSIVE", "ISTIO_MUTUAL", true, true),
            new Cell("DISABLE", "ISTIO_MUTUAL", false, true),
            new Cell("PERMISSIVE", "DISABLE", true, true),
            new Cell("STRICT", "DISABLE", false, false),
            new Cell("DISABLE", "DISABLE", true, true));
    List<String> failures = new ArrayList<>();
    for (Cell c : cells) {
      applyPolicies(c);
      String meshed = outcome(() -> viaSidecar(), c.meshed());
      String unmeshed = outcome(() -> direct(), c.unmeshed());
      String meshedTcp = outcome(() -> tcpViaSidecar(), c.meshed());
      String unmeshedTcp = outcome(() -> tcpDirect(), c.unmeshed());
      if (meshed != null || unmeshed != null || meshedTcp != null || unmeshedTcp != null) {
        failures.add(
            c
                + ": meshed "
                + (meshed == null ? "as expected" : meshed)
                + ", unmeshed "
                + (unmeshed == null ? "as expected" : unmeshed)
                + "; TCP meshed "
                + (meshedTcp == null ? "as expected" : meshedTcp)
                + ", unmeshed "
                + (unmeshedTcp == null ? "as expected" : unmeshedTcp));
      }
    }
    assertThat(failures).isEmpty();
  }

  @Test
  void theInboundPortPresentsTheWorkloadsSpiffeIdentity() throws Exception {
    applyPolicies(new Cell("STRICT", null, true, false));
    // A TLS client that trusts the mesh root and shows no certificate: the server presents its
    // certificate, then refuses the handshake for the missing client certificate.
    var roots =
        io.qmesh.ca.Pem.certificates(
            java.nio.file.Files.readString(
                mesh.pilotState().resolve("ca/istio-ca-root-cert/root-cert.pem")));
    var seen =
        new java.util.concurrent.atomic.AtomicReference<java.security.cert.X509Certificate>();
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    var trust = new io.qmesh.proxy.security.MeshTrustManager(roots, java.util.Set.of());
    ctx.init(
        null,
        new javax.net.ssl.TrustManager[] {
          new javax.net.ssl.X509TrustManager() {
            @Override
            public void checkClientTrusted(
                java.security.cert.X509Certificate[] chain, String type) {}

            @Override
            public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String type)
                throws java.security.cert.CertificateException {
              trust.checkServerTrusted(chain, type);
              seen.set(chain[0]);
            }

            @Override
            public java.security.cert.X509Certificate[] getAcceptedIssuers() {
              return new java.security.cert.X509Certificate[0];
            }
          }
        },
        null);
    SSLSocketFactory f = ctx.getSocketFactory();
    try (SSLSocket s = (SSLSocket) f.createSocket("127.0.0.1", serverInbound)) {
      s.setSoTimeout(5000);
      try {
        s.startHandshake();
        s.getOutputStream().write("GET / HTTP/1.1\r\nhost: echo\r\n\r\n".getBytes());
        s.getInputStream().read();
      } catch (java.io.IOException expected) {
        // TLS 1.3 reports the missing client certificate after the handshake.
      }
    }
    assertThat(io.qmesh.proxy.security.MeshTrustManager.spiffeId(seen.get()))
        .isEqualTo("spiffe://cluster.local/ns/default/sa/echo");
    // The proxy's admin shows the same certificate as Envoy's /certs.
    String certs = mesh.get(serverAdmin, "/certs").body();
    assertThat(certs)
        .contains("\"uri\":\"spiffe://cluster.local/ns/default/sa/echo\"")
        .contains(seen.get().getSerialNumber().toString(16));
  }

  @Test
  void metricsNameThePrincipalsOfMutualTlsConnections() throws Exception {
    applyPolicies(new Cell("STRICT", null, true, false));
    assertThat(viaSidecar()).isEqualTo(200);
    assertThat(tcpViaSidecar()).isEqualTo(200);
    String client = "spiffe://cluster.local/ns/default/sa/client";
    String server = "spiffe://cluster.local/ns/default/sa/echo";
    LocalMesh.waitFor(
        () ->
            series(serverAdmin, "istio_requests_total", "reporter=\"destination\"")
                .anyMatch(
                    l ->
                        l.contains("source_principal=\"" + client + "\"")
                            && l.contains("destination_principal=\"" + server + "\"")
                            && l.contains("connection_security_policy=\"mutual_tls\"")));
    LocalMesh.waitFor(
        () ->
            series(clientAdmin, "istio_requests_total", "reporter=\"source\"")
                .anyMatch(
                    l ->
                        l.contains("source_principal=\"" + client + "\"")
                            && l.contains("destination_principal=\"" + server + "\"")
                            && l.contains("connection_security_policy=\"unknown\"")));
    LocalMesh.waitFor(
        () ->
            series(serverAdmin, "istio_tcp_connections_opened_total", "reporter=\"destination\"")
                .anyMatch(
                    l ->
                        l.contains("source_principal=\"" + client + "\"")
                            && l.contains("connection_security_policy=\"mutual_tls\"")));
    LocalMesh.waitFor(
        () ->
            series(clientAdmin, "istio_tcp_connections_opened_total", "reporter=\"source\"")
                .anyMatch(
                    l ->
                        l.contains("destination_service=\"echo-tcp.default.svc.cluster.local\"")
                            && l.contains("destination_principal=\"" + server + "\"")));

    // Plaintext names no principal, and the destination says so.
    applyPolicies(new Cell("DISABLE", null, true, true));
    assertThat(direct()).isEqualTo(200);
    LocalMesh.waitFor(
        () ->
            series(serverAdmin, "istio_requests_total", "reporter=\"destination\"")
                .anyMatch(
                    l ->
                        l.contains("source_principal=\"unknown\"")
                            && l.contains("destination_principal=\"unknown\"")
                            && l.contains("connection_security_policy=\"none\"")));
  }

  private static java.util.stream.Stream<String> series(int admin, String name, String label)
      throws Exception {
    return mesh.get(admin, "/stats/prometheus")
        .body()
        .lines()
        .filter(l -> l.startsWith(name + "{") && l.contains(label));
  }

  private static void applyPolicies(Cell c) throws Exception {
    mesh.apply(
        """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: default, namespace: istio-system}
        spec:
          mtls: {mode: %s}
        """
            .formatted(c.peerAuth()));
    if (c.destinationRule() == null) {
      deleteDestinationRule();
    } else {
      mesh.apply(
          """
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: {name: echo}
          spec:
            host: echo.default.svc.cluster.local
            trafficPolicy:
              tls: {mode: %1$s}
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: {name: echo-tcp}
          spec:
            host: echo-tcp.default.svc.cluster.local
            trafficPolicy:
              tls: {mode: %1$s}
          """
              .formatted(c.destinationRule()));
    }
    // Both proxies run the policies before the cell is judged.
    String chains =
        switch (c.peerAuth()) {
          case "STRICT" -> "mtls";
          case "PERMISSIVE" -> "mtls+raw";
          default -> "raw";
        };
    LocalMesh.waitFor(() -> inboundChains().equals(chains));
    String clusterTls =
        c.destinationRule() == null
            ? (c.peerAuth().equals("DISABLE") ? "none" : "auto")
            : c.destinationRule().equals("ISTIO_MUTUAL") ? "always" : "none";
    LocalMesh.waitFor(() -> clientClusterTls("echo").equals(clusterTls));
    LocalMesh.waitFor(() -> clientClusterTls("echo-tcp").equals(clusterTls));
  }

  private static void deleteDestinationRule() throws Exception {
    deleteDestinationRule("echo");
    deleteDestinationRule("echo-tcp");
  }

  private static void deleteDestinationRule(String name) throws Exception {
    HttpResponse<String> r =
        plain.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + mesh.pilotHttp() + "/apis/delete"))
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
                            + "metadata: {name: "
                            + name
                            + ", namespace: default}\n"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isIn(200, 404);
  }

  /** The server sidecar's inbound filter chains for 9080: mtls, raw or both. */
  private static String inboundChains() throws Exception {
    var dump = JSON.readTree(mesh.get(serverAdmin, "/config_dump").body());
    boolean tls = false;
    boolean raw = false;
    for (var l : dump.path("configs").path("listeners")) {
      if (l.path("name").asText().equals("virtualInbound")) {
        for (var fc : l.path("filterChains")) {
          tls |= fc.path("name").asText().equals("0.0.0.0_9080_mtls");
          raw |= fc.path("name").asText().equals("0.0.0.0_9080");
        }
      }
    }
    return tls && raw ? "mtls+raw" : tls ? "mtls" : raw ? "raw" : "none";
  }

  /** How the client's cluster for a service goes: TLS always, auto mTLS, or plaintext. */
  private static String clientClusterTls(String service) throws Exception {
    var dump = JSON.readTree(mesh.get(clientAdmin, "/config_dump").body());
    for (var c : dump.path("configs").path("clusters")) {
      if (c.path("name").asText().endsWith("||" + service + ".default.svc.cluster.local")) {
        return c.has("transportSocketMatches")
            ? "auto"
            : c.has("transportSocket") ? "always" : "none";
      }
    }
    return "missing";
  }

  private static int viaSidecar() throws Exception {
    return viaSidecar
        .send(
            HttpRequest.newBuilder(URI.create("http://echo:9080/matrix"))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .statusCode();
  }

  /** A line through a CONNECT tunnel of the client's sidecar to echo-tcp: 200 when echoed. */
  private static int tcpViaSidecar() throws Exception {
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", clientOutbound)) {
      s.setSoTimeout(5000);
      var out = s.getOutputStream();
      out.write(
          "CONNECT echo-tcp:9090 HTTP/1.1\r\nhost: echo-tcp:9090\r\n\r\n"
              .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      var in =
          new java.io.BufferedReader(
              new java.io.InputStreamReader(
                  s.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII));
      String status = in.readLine();
      if (status == null || !status.startsWith("HTTP/1.1 200")) {
        throw new java.io.IOException("CONNECT answered " + status);
      }
      while (!in.readLine().isEmpty()) {
        // the rest of the answer's head
      }
      return echo(out, in);
    }
  }

  /** A line straight to the server's TCP inbound port: 200 when echoed. */
  private static int tcpDirect() throws Exception {
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", serverTcpInbound)) {
      s.setSoTimeout(5000);
      return echo(
          s.getOutputStream(),
          new java.io.BufferedReader(
              new java.io.InputStreamReader(
                  s.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII)));
    }
  }

  private static int echo(java.io.OutputStream out, java.io.BufferedReader in) throws Exception {
    out.write("ping\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    out.flush();
    String line = in.readLine();
    if (!"echo-tcp ping".equals(line)) {
      throw new java.io.IOException("echoed " + line);
    }
    return 200;
  }

  private static int direct() throws Exception {
    return plain
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + serverInbound + "/matrix"))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .statusCode();
  }

  /** Null when three requests in a row get the expected result; else what happened. */
  private static String outcome(Call call, boolean expectOk) {
    String last = null;
    for (int i = 0; i < 3; i++) {
      String got;
      try {
        int status = call.status();
        got = status == 200 ? null : "status " + status;
      } catch (Exception e) {
        got = e.getClass().getSimpleName() + ": " + e.getMessage();
      }
      boolean ok = got == null;
      if (ok != expectOk) {
        return ok ? "got through" : "refused (" + got + ")";
      }
      last = got;
    }
    return null;
  }

  @FunctionalInterface
  interface Call {
    int status() throws Exception;
  }
}
