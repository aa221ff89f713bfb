package io.qmesh.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.qmesh.ca.CertificateAuthority;
import io.qmesh.ca.Keys;
import io.qmesh.ca.Pem;
import io.qmesh.testing.LocalMesh;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Istio's TLS origination through a real pilot and sidecar: an app sends plain HTTP to {@code
 * secure.example} (a ServiceEntry for an HTTPS server on 127.0.0.1 whose certificate, from a CA of
 * the test's own, names that host), and a DestinationRule's SIMPLE or MUTUAL makes its sidecar
 * speak TLS to it with the files the rule names.
 */
class TlsOriginationIT {

  @TempDir static Path dir;

  private static LocalMesh mesh;
  private static HttpsServer backend;
  private static HttpClient viaSidecar;
  private static Path ca;
  private static Path otherCa;
  private static Path clientCert;
  private static Path clientKey;

  @BeforeAll
  static void start() throws Exception {
    CertificateAuthority authority =
        CertificateAuthority.open(dir.resolve("ca"), Clock.systemUTC());
    ca = Files.writeString(dir.resolve("ca.pem"), Pem.encode(authority.root()));
    otherCa =
        Files.writeString(
            dir.resolve("other-ca.pem"),
            Pem.encode(CertificateAuthority.open(dir.resolve("other"), Clock.systemUTC()).root()));
    KeyPair server = Keys.newEcKeyPair();
    List<X509Certificate> serverChain =
        authority.sign(
            server.getPublic(), List.of(), List.of("secure.example"), Duration.ofHours(1));
    KeyPair client = Keys.newEcKeyPair();
    clientCert =
        Files.writeString(
            dir.resolve("client.pem"),
            Pem.encode(
                authority.sign(
                    client.getPublic(),
                    List.of("spiffe://example.org/ns/shop/sa/checkout"),
                    List.of(),
                    Duration.ofHours(1))));
    clientKey = Files.writeString(dir.resolve("client-key.pem"), Pem.encode(client.getPrivate()));
    backend = httpsServer(server, serverChain, authority.root());

    mesh = new LocalMesh(Path.of(System.getProperty("qmesh.root", "..")));
    mesh.startPilot();
    mesh.apply(
        """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: secure}
        spec:
          hosts: [secure.example]
          ports: [{number: 80, name: http, protocol: HTTP, targetPort: %d}]
          resolution: STATIC
          endpoints: [{address: 127.0.0.1}]
        """
            .formatted(backend.getAddress().getPort()));
    int outbound = LocalMesh.freePort();
    int admin =
        mesh.start(
            "sidecar-tls-origination",
            "sidecar",
            mesh.sidecarEnv("client", "app=client", "client", null, outbound));
    mesh.awaitReady(admin);
    viaSidecar =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", outbound)))
            .build();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    if (mesh != null) {
      mesh.close();
    }
    if (backend != null) {
      backend.stop(0);
    }
  }

  /**
   * An HTTPS server for {@code chain}, asking for (not requiring) a client certificate from {@code
   * root}; it answers with the SNI it got, the client's certificate names and the host header.
   */
  private static HttpsServer httpsServer(
      KeyPair key, List<X509Certificate> chain, X509Certificate root) throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry(
        "server", key.getPrivate(), new char[0], chain.toArray(X509Certificate[]::new));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, new char[0]);
    KeyStore trusted = KeyStore.getInstance("PKCS12");
    trusted.load(null, null);
    trusted.setCertificateEntry("root", root);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(trusted);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    HttpsServer s = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.setHttpsConfigurator(
        new HttpsConfigurator(ssl) {
          @Override
          public void configure(HttpsParameters params) {
            var p = ssl.getDefaultSSLParameters();
            p.setWantClientAuth(true);
            params.setSSLParameters(p);
          }
        });
    s.createContext(
        "/",
        exchange -> {
          var session = ((HttpsExchange) exchange).getSSLSession();
          String sni =
              session instanceof ExtendedSSLSession e && !e.getRequestedServerNames().isEmpty()
                  ? new String(
                      e.getRequestedServerNames().get(0).getEncoded(), StandardCharsets.US_ASCII)
                  : "none";
          String peer;
          try {
            peer =
                String.valueOf(
                    ((X509Certificate) session.getPeerCertificates()[0])
                        .getSubjectAlternativeNames());
          } catch (SSLPeerUnverifiedException | java.security.cert.CertificateParsingException e) {
            peer = "none";
          }
          byte[] body =
              ("sni="
                      + sni
                      + " client="
                      + peer
                      + " host="
                      + exchange.getRequestHeaders().getFirst("host"))
                  .getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    s.start();
    return s;
  }

  private static void rule(String tls) throws Exception {
    mesh.apply(
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: secure}
        spec:
          host: secure.example
          trafficPolicy:
            tls: %s
        """
            .formatted(tls));
  }

  private static HttpResponse<String> get() throws Exception {
    return viaSidecar.send(
        HttpRequest.newBuilder(URI.create("http://secure.example/orders"))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Waits until the sidecar answers as {@code expected} says (the rule reached it). */
  private static void awaitAnswer(java.util.function.Predicate<HttpResponse<String>> expected)
      throws Exception {
    LocalMesh.waitFor(() -> expected.test(get()));
  }

  @Test
  void simpleThenMutualThenAnUntrustedServerThenARefusedRule() throws Exception {
    // Istio's egress TLS origination: SIMPLE with the CA's file; SNI and the name checked are the
    // request's host.
    rule("{mode: SIMPLE, caCertificates: %s}".formatted(ca));
    awaitAnswer(r -> r.statusCode() == 200);
    assertThat(get().body()).isEqualTo("sni=secure.example client=none host=secure.example");

    // MUTUAL: the client certificate from the rule's files reaches the server.
    rule(
        "{mode: MUTUAL, clientCertificate: %s, privateKey: %s, caCertificates: %s}"
            .formatted(clientCert, clientKey, ca));
    awaitAnswer(r -> r.body().contains("client=[[6, spiffe://"));
    assertThat(get().body())
        .isEqualTo(
            "sni=secure.example client=[[6, spiffe://example.org/ns/shop/sa/checkout]]"
                + " host=secure.example");

    // A CA that did not sign the server's certificate: the sidecar refuses the server.
    rule("{mode: SIMPLE, caCertificates: %s}".formatted(otherCa));
    awaitAnswer(r -> r.statusCode() == 503);

    // subjectAltNames the certificate does not carry: refused too; the right one: through.
    rule("{mode: SIMPLE, caCertificates: %s, subjectAltNames: [db.example]}".formatted(ca));
    awaitAnswer(r -> r.statusCode() == 503);
    rule("{mode: SIMPLE, caCertificates: %s, subjectAltNames: [secure.example]}".formatted(ca));
    awaitAnswer(r -> r.statusCode() == 200);

    // MUTUAL without its files is refused by pilot, naming the field; the last rule stays.
    assertThatThrownBy(() -> rule("{mode: MUTUAL, caCertificates: %s}".formatted(ca)))
        .hasMessageContaining(
            "spec.trafficPolicy.tls.clientCertificate: required when mode is MUTUAL");
    assertThat(get().statusCode()).isEqualTo(200);
  }
}
