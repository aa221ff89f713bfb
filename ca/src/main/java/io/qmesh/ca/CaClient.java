package io.qmesh.ca;

import io.qmesh.ca.api.IstioCertificateRequest;
import io.qmesh.ca.api.IstioCertificateResponse;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.TrustOptions;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * A client of the CA ({@code CreateCertificate} over TLS): trusts only the mesh's root, and sends
 * the workload's credential, read afresh for each request, as a bearer token.
 *
 * <p>It runs on the caller's Vert.x (Vert.x's gRPC client over its HTTP/2 client), so that a
 * sidecar asks for its certificates over the HTTP/2 stack it forwards with, rather than loading
 * gRPC-java's channel, event loop and buffer pool for one call a day.
 */
public final class CaClient implements AutoCloseable {

  private static final ServiceMethod<IstioCertificateResponse, IstioCertificateRequest>
      CREATE_CERTIFICATE =
          ServiceMethod.client(
              ServiceName.create("istio.v1.auth.IstioCertificateService"),
              "CreateCertificate",
              GrpcMessageEncoder.encoder(),
              GrpcMessageDecoder.decoder(IstioCertificateResponse.parser()));

  /** The CA answered with a gRPC status other than OK, or did not answer by the deadline. */
  public static final class Refused extends RuntimeException {
    private final GrpcStatus status;
    private final String description;

    Refused(GrpcStatus status, String description) {
      super(status + (description == null ? "" : ": " + description));
      this.status = status;
      this.description = description;
    }

    /** The status the CA answered with. */
    public GrpcStatus status() {
      return status;
    }

    /** The CA's reason, as it gave it; null when it gave none. */
    public String description() {
      return description;
    }
  }

  private final Vertx vertx;
  private final GrpcClient grpc;
  private final SocketAddress server;
  private final Supplier<String> credential;

  public CaClient(
      Vertx vertx,
      String host,
      int port,
      List<X509Certificate> roots,
      Supplier<String> credential) {
    this.vertx = vertx;
    this.grpc =
        GrpcClient.client(
            vertx,
            new GrpcClientOptions()
                .setTransportOptions(
                    new HttpClientOptions()
                        .setProtocolVersion(HttpVersion.HTTP_2)
                        .setSsl(true)
                        .setUseAlpn(true)
                        .setVerifyHost(true)
                        .setTrustOptions(TrustOptions.wrap(trusting(roots)))));
    this.server = SocketAddress.inetSocketAddress(port, host);
    this.credential = credential;
  }

  private static TrustManagerFactory trusting(List<X509Certificate> roots) {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < roots.size(); i++) {
        store.setCertificateEntry("root-" + i, roots.get(i));
      }
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      return factory;
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("cannot set up TLS to the CA: " + e.getMessage(), e);
    }
  }

  /**
   * Asks for a certificate; the future fails with {@link Refused} when the CA refuses or does not
   * answer within {@code deadline}, or with the transport's error (TLS, connection).
   *
   * @return the chain, leaf first, root last
   */
  public CompletableFuture<List<X509Certificate>> sign(
      PKCS10CertificationRequest csr, Duration ttl, Duration deadline) {
    CompletableFuture<List<X509Certificate>> out = new CompletableFuture<>();
    String token;
    try {
      token = credential.get();
    } catch (RuntimeException e) {
      out.completeExceptionally(e);
      return out;
    }
    long timer =
        vertx.setTimer(
            Math.max(1, deadline.toMillis()),
            t ->
                out.completeExceptionally(
                    new Refused(
                        GrpcStatus.DEADLINE_EXCEEDED, "no answer from the CA within " + deadline)));
    out.whenComplete((chain, err) -> vertx.cancelTimer(timer));
    IstioCertificateRequest message =
        IstioCertificateRequest.newBuilder()
            .setCsr(Pem.encode(csr))
            .setValidityDuration(ttl.toSeconds())
            .build();
    grpc.request(server, CREATE_CERTIFICATE)
        .compose(
            request -> {
              request.headers().set("authorization", "Bearer " + token);
              // The CA gives up when the caller has (gRPC's deadline header, in milliseconds).
              request.headers().set("grpc-timeout", Math.max(1, deadline.toMillis()) + "m");
              out.whenComplete(
                  (chain, err) -> {
                    if (err != null) {
                      request.cancel();
                    }
                  });
              return request.send(message);
            })
        .compose(CaClient::answer)
        .onComplete(
            ar -> {
              if (ar.failed()) {
                out.completeExceptionally(ar.cause());
                return;
              }
              try {
                List<X509Certificate> chain = new ArrayList<>();
                ar.result().getCertChainList().forEach(pem -> chain.addAll(Pem.certificates(pem)));
                if (chain.isEmpty()) {
                  throw new IllegalStateException("the CA answered with no certificate");
                }
                out.complete(List.copyOf(chain));
              } catch (RuntimeException e) {
                out.completeExceptionally(e);
              }
            });
    return out;
  }

  /** The one message of a unary answer, or the CA's status when it is not OK. */
  private static Future<IstioCertificateResponse> answer(
      GrpcClientResponse<IstioCertificateRequest, IstioCertificateResponse> response) {
    return response
        .last()
        .transform(
            ar -> {
              GrpcStatus status = response.status();
              if (status != null && status != GrpcStatus.OK) {
                return Future.failedFuture(new Refused(status, response.statusMessage()));
              }
              if (ar.failed()) {
                return Future.failedFuture(ar.cause());
              }
              if (ar.result() == null) {
                return Future.failedFuture(
                    new Refused(GrpcStatus.INTERNAL, "the CA answered with no message"));
              }
              return Future.succeededFuture(ar.result());
            });
  }

  @Override
  public void close() {
    grpc.close();
  }
}
