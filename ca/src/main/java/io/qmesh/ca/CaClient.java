package io.qmesh.ca;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.qmesh.ca.api.IstioCertificateRequest;
import io.qmesh.ca.api.IstioCertificateResponse;
import io.qmesh.ca.api.IstioCertificateServiceGrpc;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * A client of the CA ({@code CreateCertificate} over TLS): trusts only the mesh's root, and sends
 * the workload's credential, read afresh for each request, as a bearer token.
 */
public final class CaClient implements AutoCloseable {

  private final ManagedChannel channel;
  private final Supplier<String> credential;

  public CaClient(String host, int port, List<X509Certificate> roots, Supplier<String> credential) {
    try {
      this.channel =
          NettyChannelBuilder.forAddress(host, port)
              .sslContext(
                  GrpcSslContexts.forClient()
                      .trustManager(roots.toArray(X509Certificate[]::new))
                      .build())
              .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS to the CA: " + e.getMessage(), e);
    }
    this.credential = credential;
  }

  /**
   * Asks for a certificate; the future fails with the CA's {@link io.grpc.StatusRuntimeException}
   * when it refuses, or with the transport's error.
   *
   * @return the chain, leaf first, root last
   */
  public CompletableFuture<List<X509Certificate>> sign(
      PKCS10CertificationRequest csr, Duration ttl, Duration deadline) {
    CompletableFuture<List<X509Certificate>> out = new CompletableFuture<>();
    Metadata headers = new Metadata();
    try {
      headers.put(CaService.AUTHORIZATION, "Bearer " + credential.get());
    } catch (RuntimeException e) {
      out.completeExceptionally(e);
      return out;
    }
    var stub =
        IstioCertificateServiceGrpc.newFutureStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
            .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
    var call =
        stub.createCertificate(
            IstioCertificateRequest.newBuilder()
                .setCsr(Pem.encode(csr))
                .setValidityDuration(ttl.toSeconds())
                .build());
    Futures.addCallback(
        call,
        new FutureCallback<IstioCertificateResponse>() {
          @Override
          public void onSuccess(IstioCertificateResponse r) {
            try {
              List<X509Certificate> chain = new ArrayList<>();
              r.getCertChainList().forEach(pem -> chain.addAll(Pem.certificates(pem)));
              if (chain.isEmpty()) {
                throw new IllegalStateException("the CA answered with no certificate");
              }
              out.complete(List.copyOf(chain));
            } catch (RuntimeException e) {
              out.completeExceptionally(e);
            }
          }

          @Override
          public void onFailure(Throwable t) {
            out.completeExceptionally(t);
          }
        },
        MoreExecutors.directExecutor());
    return out;
  }

  @Override
  public void close() {
    channel.shutdownNow();
  }
}
