package io.qmesh.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CA over a real TLS gRPC socket on 127.0.0.1, called as a sidecar calls it. */
class CaServiceTest {

  static final String REVIEWS = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews";

  @TempDir Path dir;
  CertificateAuthority ca;
  BootstrapTokens tokens;
  SimpleMeterRegistry metrics = new SimpleMeterRegistry();
  CaServer server;
  String credential;
  CaClient client;
  io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();

  @BeforeEach
  void start() {
    ca = CertificateAuthority.open(dir, Clock.systemUTC());
    tokens =
        new BootstrapTokens(
            BootstrapTokens.loadOrCreateKey(dir.resolve("token-key")), Clock.systemUTC());
    CaService service =
        new CaService(ca, tokens, CaService.DEFAULT_TTL, CaService.MAX_TTL, metrics);
    server = new CaServer("127.0.0.1", 0, ca, List.of(service.definition()));
    credential = tokens.issue("default", "bookinfo-reviews", Duration.ofHours(1));
    client = new CaClient(vertx, "127.0.0.1", server.port(), List.of(ca.root()), () -> credential);
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
    vertx.close();
  }

  @Test
  void signsForTheCredentialsIdentityWithTheDefaultTtl() throws Exception {
    KeyPair key = Keys.newEcKeyPair();

    List<X509Certificate> chain = sign(key, List.of(REVIEWS), Duration.ZERO);

    assertThat(chain).hasSize(2);
    assertThat(chain.get(0).getPublicKey()).isEqualTo(key.getPublic());
    assertThat(chain.get(0).getSubjectAlternativeNames()).containsExactly(List.of(6, REVIEWS));
    assertThat(chain.get(1)).isEqualTo(ca.root());
    Duration ttl =
        Duration.between(
            chain.get(0).getNotBefore().toInstant(), chain.get(0).getNotAfter().toInstant());
    assertThat(ttl).isEqualTo(Duration.ofHours(24).plus(CertificateAuthority.BACKDATE));
    assertThat(metrics.counter("citadel_server_success_cert_issuance_count").count()).isEqualTo(1);
    assertThat(metrics.timer("citadel_server_csr_sign_duration").count()).isEqualTo(1);
  }

  @Test
  void aRequestWithoutSansGetsTheCredentialsIdentity() throws Exception {
    List<X509Certificate> chain = sign(Keys.newEcKeyPair(), List.of(), Duration.ofMinutes(1));

    assertThat(chain.get(0).getSubjectAlternativeNames()).containsExactly(List.of(6, REVIEWS));
    assertThat(Duration.between(Instant.now(), chain.get(0).getNotAfter().toInstant()).toSeconds())
        .isBetween(50L, 60L);
  }

  @Test
  void askingForAnotherIdentityIsRefused() {
    Throwable t =
        catchThrowable(
            () ->
                sign(
                    Keys.newEcKeyPair(),
                    List.of("spiffe://cluster.local/ns/default/sa/bookinfo-ratings"),
                    Duration.ZERO));

    assertThat(refusal(t).status()).isEqualTo(GrpcStatus.PERMISSION_DENIED);
    assertThat(refusal(t).description())
        .isEqualTo(
            "csr asks for spiffe://cluster.local/ns/default/sa/bookinfo-ratings but the credential is for "
                + REVIEWS);
    assertThat(metrics.counter("citadel_server_id_extraction_err_count").count()).isEqualTo(1);
  }

  @Test
  void aTtlOverTheMaximumIsRefused() {
    Throwable t =
        catchThrowable(() -> sign(Keys.newEcKeyPair(), List.of(REVIEWS), Duration.ofDays(91)));

    assertThat(refusal(t).status()).isEqualTo(GrpcStatus.INVALID_ARGUMENT);
    assertThat(refusal(t).description()).contains("greater than the max allowed TTL PT2160H");
  }

  @Test
  void theMaximumTtlIsGranted() throws Exception {
    X509Certificate leaf = sign(Keys.newEcKeyPair(), List.of(REVIEWS), Duration.ofDays(90)).get(0);

    assertThat(Duration.between(Instant.now(), leaf.getNotAfter().toInstant()).toDays())
        .isEqualTo(89);
  }

  @Test
  void noCredentialAForgedOneAndAnExpiredOneAreRefused() {
    credential = "";
    assertThat(
            refusal(
                catchThrowable(() -> sign(Keys.newEcKeyPair(), List.of(REVIEWS), Duration.ZERO))))
        .extracting(CaClient.Refused::status)
        .isEqualTo(GrpcStatus.UNAUTHENTICATED);

    BootstrapTokens forger = new BootstrapTokens(new byte[32], Clock.systemUTC());
    credential = forger.issue("default", "bookinfo-reviews", Duration.ofHours(1));
    CaClient.Refused forged =
        refusal(catchThrowable(() -> sign(Keys.newEcKeyPair(), List.of(REVIEWS), Duration.ZERO)));
    assertThat(forged.status()).isEqualTo(GrpcStatus.UNAUTHENTICATED);
    assertThat(forged.description()).startsWith("the credential is not valid");

    BootstrapTokens past =
        new BootstrapTokens(
            BootstrapTokens.loadOrCreateKey(dir.resolve("token-key")),
            Clock.fixed(Instant.now().minus(Duration.ofDays(2)), ZoneOffset.UTC));
    credential = past.issue("default", "bookinfo-reviews", Duration.ofDays(1));
    CaClient.Refused expired =
        refusal(catchThrowable(() -> sign(Keys.newEcKeyPair(), List.of(REVIEWS), Duration.ZERO)));
    assertThat(expired.status()).isEqualTo(GrpcStatus.UNAUTHENTICATED);
    assertThat(expired.description()).isEqualTo("the credential has expired");
    assertThat(metrics.counter("citadel_server_authentication_failure_count").count()).isEqualTo(3);
  }

  @Test
  void aMalformedRequestIsRefused() throws Exception {
    var stub =
        io.qmesh.ca.api.IstioCertificateServiceGrpc.newBlockingStub(
                io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", server.port())
                    .sslContext(
                        io.grpc.netty.GrpcSslContexts.forClient().trustManager(ca.root()).build())
                    .build())
            .withInterceptors(
                io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(bearer(credential)));

    Throwable t =
        catchThrowable(
            () ->
                stub.createCertificate(
                    io.qmesh.ca.api.IstioCertificateRequest.newBuilder().setCsr("hello").build()));

    assertThat(status(t).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status(t).getDescription()).startsWith("csr: ");
  }

  @Test
  void aCaThatDoesNotAnswerFailsTheRequestAtItsDeadline() {
    CaServer silent =
        new CaServer(
            "127.0.0.1",
            0,
            ca,
            List.of(
                new io.qmesh.ca.api.IstioCertificateServiceGrpc.IstioCertificateServiceImplBase() {
                  @Override
                  public void createCertificate(
                      io.qmesh.ca.api.IstioCertificateRequest request,
                      io.grpc.stub.StreamObserver<io.qmesh.ca.api.IstioCertificateResponse> out) {
                    // Never answers.
                  }
                }.bindService()));
    CaClient waiting =
        new CaClient(vertx, "127.0.0.1", silent.port(), List.of(ca.root()), () -> credential);
    try {
      long start = System.nanoTime();
      Throwable t =
          catchThrowable(
              () ->
                  waiting
                      .sign(
                          Keys.csr(Keys.newEcKeyPair(), List.of()),
                          Duration.ZERO,
                          Duration.ofMillis(500))
                      .get(10, TimeUnit.SECONDS));

      assertThat(t).isInstanceOf(ExecutionException.class);
      assertThat(refusal(t.getCause()).status()).isEqualTo(GrpcStatus.DEADLINE_EXCEEDED);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    } finally {
      waiting.close();
      silent.close();
    }
  }

  @Test
  void theServingCertificateIsTheControlPlanesSignedByTheRoot() throws Exception {
    // The client above trusts only the root and checks 127.0.0.1 against the serving certificate.
    assertThat(sign(Keys.newEcKeyPair(), List.of(REVIEWS), Duration.ZERO)).isNotEmpty();
    CaClient stranger =
        new CaClient(
            vertx,
            "127.0.0.1",
            server.port(),
            List.of(
                CertificateAuthority.selfSigned(
                    Keys.newEcKeyPair(), Instant.now(), Duration.ofDays(1))),
            () -> credential);
    try {
      Throwable t =
          catchThrowable(
              () ->
                  stranger
                      .sign(
                          Keys.csr(Keys.newEcKeyPair(), List.of()),
                          Duration.ZERO,
                          Duration.ofSeconds(5))
                      .get(10, TimeUnit.SECONDS));
      // Netty's TLS handshake fails: the CA's certificate does not chain to this root.
      assertThat(t).hasRootCauseInstanceOf(java.security.cert.CertPathValidatorException.class);
      assertThat(t).hasCauseInstanceOf(javax.net.ssl.SSLHandshakeException.class);
    } finally {
      stranger.close();
    }
  }

  private List<X509Certificate> sign(KeyPair key, List<String> uris, Duration ttl)
      throws Exception {
    try {
      return client.sign(Keys.csr(key, uris), ttl, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  private static io.grpc.Metadata bearer(String token) {
    io.grpc.Metadata m = new io.grpc.Metadata();
    m.put(CaService.AUTHORIZATION, "Bearer " + token);
    return m;
  }

  private static CaClient.Refused refusal(Throwable t) {
    assertThat(t).as("the CA's refusal").isInstanceOf(CaClient.Refused.class);
    return (CaClient.Refused) t;
  }

  private static Status status(Throwable t) {
    Throwable c = t;
    while (c != null && !(c instanceof StatusRuntimeException)) {
      c = c.getCause();
    }
    assertThat(c).as("a gRPC status, from " + t).isNotNull();
    return ((StatusRuntimeException) c).getStatus();
  }
}
