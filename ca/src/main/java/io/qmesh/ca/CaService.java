package io.qmesh.ca;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.qmesh.ca.api.IstioCertificateRequest;
import io.qmesh.ca.api.IstioCertificateResponse;
import io.qmesh.ca.api.IstioCertificateServiceGrpc;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.jboss.logging.Logger;

/**
 * Istio's {@code istio.v1.auth.IstioCertificateService/CreateCertificate}: authenticates the caller
 * by the bearer credential in its {@code authorization} header, and signs the request's key for the
 * identity that credential names, and no other. Requests asking for other identities are refused
 * ({@code PERMISSION_DENIED}), bad or expired credentials too ({@code UNAUTHENTICATED}), malformed
 * requests and lifetimes over the maximum ({@code INVALID_ARGUMENT}).
 */
public final class CaService extends IstioCertificateServiceGrpc.IstioCertificateServiceImplBase {

  private static final Logger LOG = Logger.getLogger(CaService.class);

  /** Istio's default workload certificate lifetime. */
  public static final Duration DEFAULT_TTL = Duration.ofHours(24);

  /** Istio's maximum workload certificate lifetime. */
  public static final Duration MAX_TTL = Duration.ofDays(90);

  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<String> CREDENTIAL = Context.key("qmesh-ca-credential");

  private final CertificateAuthority ca;
  private final BootstrapTokens tokens;
  private final Duration defaultTtl;
  private final Duration maxTtl;
  private final Counter requests;
  private final Counter issued;
  private final Counter authFailures;
  private final Counter refusedIdentity;
  private final Counter malformed;
  private final Timer signing;

  public CaService(
      CertificateAuthority ca,
      BootstrapTokens tokens,
      Duration defaultTtl,
      Duration maxTtl,
      MeterRegistry metrics) {
    this.ca = ca;
    this.tokens = tokens;
    this.defaultTtl = defaultTtl;
    this.maxTtl = maxTtl;
    this.requests =
        Counter.builder("citadel_server_csr_count")
            .description("Certificate requests received")
            .register(metrics);
    this.issued =
        Counter.builder("citadel_server_success_cert_issuance_count")
            .description("Certificates issued")
            .register(metrics);
    this.authFailures =
        Counter.builder("citadel_server_authentication_failure_count")
            .description("Requests refused for their credential")
            .register(metrics);
    this.refusedIdentity =
        Counter.builder("citadel_server_id_extraction_err_count")
            .description("Requests refused for asking another identity than their credential's")
            .register(metrics);
    this.malformed =
        Counter.builder("citadel_server_csr_parsing_err_count")
            .description("Requests refused as malformed (certificate request or lifetime)")
            .register(metrics);
    this.signing =
        Timer.builder("citadel_server_csr_sign_duration")
            .description("Time to verify a request and sign its certificate")
            .register(metrics);
    Gauge.builder(
            "citadel_server_root_cert_expiry_timestamp",
            ca,
            c -> c.root().getNotAfter().getTime() / 1000.0)
        .description("When the root certificate expires, in Unix seconds")
        .register(metrics);
  }

  /** The service with its credential reader, ready to add to a gRPC server. */
  public ServerServiceDefinition definition() {
    ServerInterceptor credential =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            String auth = headers.get(AUTHORIZATION);
            return Contexts.interceptCall(
                Context.current().withValue(CREDENTIAL, auth), call, headers, next);
          }
        };
    return ServerInterceptors.intercept(this, credential);
  }

  @Override
  public void createCertificate(
      IstioCertificateRequest request, StreamObserver<IstioCertificateResponse> response) {
    requests.increment();
    long start = System.nanoTime();
    try {
      List<X509Certificate> chain = handle(request, CREDENTIAL.get());
      IstioCertificateResponse.Builder b = IstioCertificateResponse.newBuilder();
      chain.forEach(c -> b.addCertChain(Pem.encode(c)));
      issued.increment();
      signing.record(Duration.ofNanos(System.nanoTime() - start));
      response.onNext(b.build());
      response.onCompleted();
    } catch (Refused e) {
      LOG.infof("CA: refused a certificate request: %s", e.status.getDescription());
      response.onError(e.status.asRuntimeException());
    } catch (RuntimeException e) {
      LOG.errorf(e, "CA: cannot sign");
      response.onError(
          Status.INTERNAL.withDescription("cannot sign: " + e.getMessage()).asRuntimeException());
    }
  }

  /** Why a request is refused, as the gRPC status the caller gets. */
  private static final class Refused extends Exception {
    final Status status;

    Refused(Status status) {
      super(status.getDescription(), null, false, false);
      this.status = status;
    }
  }

  private List<X509Certificate> handle(IstioCertificateRequest request, String authorization)
      throws Refused {
    BootstrapTokens.Identity identity = authenticate(authorization);
    PKCS10CertificationRequest csr;
    PublicKey key;
    try {
      csr = Pem.csr(request.getCsr());
      JcaPKCS10CertificationRequest jca = new JcaPKCS10CertificationRequest(csr);
      key = jca.getPublicKey();
      if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key))) {
        throw new IllegalArgumentException("its signature does not verify");
      }
    } catch (Exception e) {
      malformed.increment();
      throw new Refused(Status.INVALID_ARGUMENT.withDescription("csr: " + e.getMessage()));
    }
    String id = identity.spiffeId();
    for (String asked : requestedUris(csr)) {
      if (!asked.equals(id)) {
        refusedIdentity.increment();
        throw new Refused(
            Status.PERMISSION_DENIED.withDescription(
                "csr asks for " + asked + " but the credential is for " + id));
      }
    }
    Duration ttl = ttl(request.getValidityDuration());
    return ca.sign(key, List.of(id), List.of(), ttl);
  }

  private BootstrapTokens.Identity authenticate(String authorization) throws Refused {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      authFailures.increment();
      throw new Refused(
          Status.UNAUTHENTICATED.withDescription(
              "no credential: the call needs 'authorization: Bearer <token>'"));
    }
    try {
      return tokens.verify(authorization.substring(7).trim());
    } catch (BootstrapTokens.InvalidCredential e) {
      authFailures.increment();
      throw new Refused(Status.UNAUTHENTICATED.withDescription(e.getMessage()));
    }
  }

  private Duration ttl(long seconds) throws Refused {
    if (seconds < 0) {
      malformed.increment();
      throw new Refused(
          Status.INVALID_ARGUMENT.withDescription("validity_duration is negative: " + seconds));
    }
    if (seconds == 0) {
      return defaultTtl;
    }
    Duration ttl = Duration.ofSeconds(seconds);
    if (ttl.compareTo(maxTtl) > 0) {
      malformed.increment();
      throw new Refused(
          Status.INVALID_ARGUMENT.withDescription(
              "requested TTL " + ttl + " is greater than the max allowed TTL " + maxTtl));
    }
    return ttl;
  }

  /** The URI SANs a request asks for (its extension request), none when it asks for none. */
  static List<String> requestedUris(PKCS10CertificationRequest csr) {
    List<String> out = new ArrayList<>();
    for (var attr : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
      for (var value : attr.getAttrValues()) {
        Extensions ext = Extensions.getInstance(value);
        GeneralNames names = GeneralNames.fromExtensions(ext, Extension.subjectAlternativeName);
        if (names == null) {
          continue;
        }
        for (GeneralName n : names.getNames()) {
          if (n.getTagNo() == GeneralName.uniformResourceIdentifier) {
            out.add(n.getName().toString());
          }
        }
      }
    }
    return out;
  }
}
