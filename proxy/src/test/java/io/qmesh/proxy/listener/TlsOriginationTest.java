package io.qmesh.proxy.listener;

import static io.qmesh.proxy.listener.TestXds.cla;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.qmesh.ca.CertificateAuthority;
import io.qmesh.ca.Keys;
import io.qmesh.ca.Pem;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.xds.XdsResources;
import io.vertx.core.Vertx;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DestinationRule's SIMPLE and MUTUAL TLS as pilot translates them, over real sockets: a TLS
 * backend (certificate for {@code backend.example} from a CA of the test's own, client certificates
 * requested) behind clusters that originate TLS in each of Istio's ways.
 */
class TlsOriginationTest {

  @TempDir static Path dir;

  private static Vertx vertx;
  private static HttpServer backend;
  private static HttpClient client;
  private static int proxyPort;
  private static Path ca;
  private static Path otherCa;
  private static Path clientCert;
  private static Path clientKey;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    CertificateAuthority authority =
        CertificateAuthority.open(dir.resolve("ca"), Clock.systemUTC());
    ca = write("ca.pem", Pem.encode(authority.root()));
    otherCa =
        write(
            "other-ca.pem",
            Pem.encode(CertificateAuthority.open(dir.resolve("other"), Clock.systemUTC()).root()));
    Path serverCert = dir.resolve("server.pem");
    Path serverKey = dir.resolve("server-key.pem");
    issue(authority, List.of(), List.of("backend.example"), serverCert, serverKey);
    clientCert = dir.resolve("client.pem");
    clientKey = dir.resolve("client-key.pem");
    issue(
        authority,
        List.of("spiffe://example.org/ns/shop/sa/checkout"),
        List.of(),
        clientCert,
        clientKey);
    backend =
        await(
            vertx
                .createHttpServer(
                    new HttpServerOptions()
                        .setSsl(true)
                        .setSni(true)
                        .setKeyCertOptions(
                            new PemKeyCertOptions()
                                .setCertPath(serverCert.toString())
                                .setKeyPath(serverKey.toString()))
                        .setTrustOptions(new PemTrustOptions().addCertPath(ca.toString()))
                        .setClientAuth(ClientAuth.REQUEST))
                .requestHandler(
                    req -> {
                      String peer = "none";
                      try {
                        var certs = req.connection().peerCertificates();
                        if (!certs.isEmpty() && certs.get(0) instanceof X509Certificate x) {
                          peer = String.valueOf(x.getSubjectAlternativeNames());
                        }
                      } catch (javax.net.ssl.SSLPeerUnverifiedException
                          | java.security.cert.CertificateParsingException e) {
                        peer = "none";
                      }
                      req.response()
                          .end(
                              "sni="
                                  + req.connection().indicatedServerName()
                                  + " client="
                                  + peer
                                  + " host="
                                  + req.getHeader("host"));
                    })
                .listen(0, "127.0.0.1"));
    int port = backend.actualPort();

    Map<String, Cluster> clusters = new HashMap<>();
    Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints =
        new HashMap<>();
    RouteConfiguration.Builder routes = RouteConfiguration.newBuilder().setName("443");
    // Istio's translation of `tls: {mode: SIMPLE, caCertificates: ...}` without sni: auto SNI
    // and auto SAN validation from the request's host.
    route(
        clusters,
        endpoints,
        routes,
        port,
        "backend.example",
        "simple",
        simple(ca, "", List.of()),
        true);
    route(clusters, endpoints, routes, port, "other.example", "simple", null, true);
    route(
        clusters,
        endpoints,
        routes,
        port,
        "sans.example",
        "sans",
        simple(ca, "backend.example", List.of("backend.example")),
        false);
    route(
        clusters,
        endpoints,
        routes,
        port,
        "sans-bad.example",
        "sans-bad",
        simple(ca, "backend.example", List.of("nope.example")),
        false);
    route(
        clusters,
        endpoints,
        routes,
        port,
        "untrusted.example",
        "untrusted",
        simple(otherCa, "backend.example", List.of()),
        false);
    route(
        clusters,
        endpoints,
        routes,
        port,
        "insecure.example",
        "insecure",
        UpstreamTlsContext.newBuilder().setSni("backend.example").build(),
        false);
    route(
        clusters,
        endpoints,
        routes,
        port,
        "mutual.example",
        "mutual",
        mutual(simple(ca, "backend.example", List.of()), clientCert, clientKey),
        false);
    ProxyConfig config =
        ProxyConfig.compile(
            new XdsResources(Map.of(), Map.of("443", routes.build()), clusters, endpoints));
    proxyPort = await(HttpProxy.outbound(vertx, () -> config).listen("127.0.0.1", 0)).actualPort();
    client = vertx.createHttpClient();
  }

  @AfterAll
  static void stop() throws Exception {
    await(vertx.close());
  }

  private static Path write(String name, String text) throws Exception {
    return Files.writeString(dir.resolve(name), text);
  }

  private static void issue(
      CertificateAuthority authority, List<String> uris, List<String> dns, Path cert, Path key)
      throws Exception {
    KeyPair pair = Keys.newEcKeyPair();
    Files.writeString(
        cert, Pem.encode(authority.sign(pair.getPublic(), uris, dns, Duration.ofHours(1))));
    Files.writeString(key, Pem.encode(pair.getPrivate()));
  }

  private static UpstreamTlsContext simple(Path trustedCa, String sni, List<String> sans) {
    CertificateValidationContext.Builder v =
        CertificateValidationContext.newBuilder()
            .setTrustedCa(DataSource.newBuilder().setFilename(trustedCa.toString()));
    sans.forEach(s -> v.addMatchSubjectAltNames(StringMatcher.newBuilder().setExact(s)));
    return UpstreamTlsContext.newBuilder()
        .setSni(sni)
        .setCommonTlsContext(CommonTlsContext.newBuilder().setValidationContext(v))
        .build();
  }

  private static UpstreamTlsContext mutual(UpstreamTlsContext tls, Path cert, Path key) {
    return tls.toBuilder()
        .setCommonTlsContext(
            tls.getCommonTlsContext().toBuilder()
                .addTlsCertificates(
                    TlsCertificate.newBuilder()
                        .setCertificateChain(DataSource.newBuilder().setFilename(cert.toString()))
                        .setPrivateKey(DataSource.newBuilder().setFilename(key.toString()))))
        .build();
  }

  /** Host {@code host} routes to cluster {@code name}, defined with {@code tls} unless null. */
  private static void route(
      Map<String, Cluster> clusters,
      Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints,
      RouteConfiguration.Builder routes,
      int port,
      String host,
      String name,
      UpstreamTlsContext tls,
      boolean autoSni) {
    routes.addVirtualHosts(
        VirtualHost.newBuilder()
            .setName(host)
            .addDomains(host + ":443")
            .addRoutes(TestXds.to("/", name)));
    if (tls != null) {
      clusters.put(name, cluster(name, tls, autoSni));
      endpoints.put(name, cla(name, port));
    }
  }

  private static Cluster cluster(String name, UpstreamTlsContext tls, boolean autoSni) {
    return TestXds.eds(name)
        .setTransportSocket(
            TransportSocket.newBuilder()
                .setName("envoy.transport_sockets.tls")
                .setTypedConfig(Any.pack(tls)))
        .putTypedExtensionProtocolOptions(
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            Any.pack(
                HttpProtocolOptions.newBuilder()
                    .setExplicitHttpConfig(
                        HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                            .setHttpProtocolOptions(
                                io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions
                                    .getDefaultInstance()))
                    .setUpstreamHttpProtocolOptions(
                        UpstreamHttpProtocolOptions.newBuilder()
                            .setAutoSni(autoSni)
                            .setAutoSanValidation(autoSni))
                    .build()))
        .build();
  }

  /** Status, body and the response flag of a plain HTTP request to the proxy for {@code host}. */
  private static String get(String host) throws Exception {
    return await(
        client
            .request(
                new RequestOptions()
                    .setServer(
                        io.vertx.core.net.SocketAddress.inetSocketAddress(proxyPort, "127.0.0.1"))
                    .setHost(host)
                    .setPort(443)
                    .setURI("/"))
            // The body is asked for on the event loop, as the answer comes (see
            // ProtocolsTest.send).
            .compose(
                r ->
                    r.send()
                        .compose(
                            (HttpClientResponse resp) ->
                                resp.body().map(b -> resp.statusCode() + " " + b.toString()))));
  }

  @Test
  void simpleTlsSendsTheRequestsHostAsSniAndChecksTheCertificateAgainstIt() throws Exception {
    assertThat(get("backend.example"))
        .isEqualTo("200 sni=backend.example client=none host=backend.example:443");
    // The same cluster for another name: the certificate is not for it.
    assertThat(get("other.example")).startsWith("503 ");
  }

  @Test
  void subjectAltNamesReplaceTheHostCheck() throws Exception {
    assertThat(get("sans.example")).startsWith("200 sni=backend.example client=none");
    assertThat(get("sans-bad.example")).startsWith("503 ");
  }

  @Test
  void aServerTheCaDoesNotVouchForIsRefusedUnlessVerificationIsSkipped() throws Exception {
    assertThat(get("untrusted.example")).startsWith("503 ");
    assertThat(get("insecure.example")).startsWith("200 sni=backend.example");
  }

  @Test
  void mutualTlsPresentsTheClientCertificate() throws Exception {
    assertThat(get("mutual.example"))
        .startsWith(
            "200 sni=backend.example client=[[6, spiffe://example.org/ns/shop/sa/checkout]]");
  }

  @Test
  void aCertificateFileThatCannotBeReadRefusesTheConfigNamingClusterAndFile() {
    Path missing = dir.resolve("missing.pem");
    Cluster broken =
        cluster("broken", mutual(simple(ca, "", List.of()), missing, clientKey), false);
    assertThatThrownBy(
            () ->
                ProxyConfig.compile(
                    new XdsResources(
                        Map.of(),
                        Map.of(),
                        Map.of("broken", broken),
                        Map.of("broken", cla("broken", 1)))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cluster broken")
        .hasMessageContaining(missing.toString());
  }

  private static <T> T await(io.vertx.core.Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
