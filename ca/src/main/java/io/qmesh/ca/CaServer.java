package io.qmesh.ca;

import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * istiod's TLS gRPC port (15012): the CA's service and whatever else the control plane serves over
 * TLS, with a serving certificate the CA signs for itself ({@code istiod.istio-system.svc}, {@code
 * localhost}, {@code 127.0.0.1}), so clients verify it against the mesh's root.
 */
public final class CaServer implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(CaServer.class);

  /** The names the serving certificate is for. */
  public static final List<String> SERVING_NAMES =
      List.of("istiod.istio-system.svc", "istiod.istio-system", "istiod", "localhost", "127.0.0.1");

  /** The control plane's own identity, as Istio's istiod. */
  public static final String IDENTITY = io.qmesh.api.MeshNames.spiffeId("istio-system", "istiod");

  private final Server server;

  public CaServer(
      String host, int port, CertificateAuthority ca, List<ServerServiceDefinition> services) {
    KeyPair pair = Keys.newEcKeyPair();
    List<X509Certificate> chain =
        ca.sign(pair.getPublic(), List.of(IDENTITY), SERVING_NAMES, Duration.ofDays(365));
    try {
      NettyServerBuilder b =
          NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
              .sslContext(
                  GrpcSslContexts.configure(
                          io.netty.handler.ssl.SslContextBuilder.forServer(
                              pair.getPrivate(),
                              chain.subList(0, chain.size() - 1).toArray(X509Certificate[]::new)))
                      .build())
              .permitKeepAliveTime(10, TimeUnit.SECONDS)
              .permitKeepAliveWithoutCalls(true);
      services.forEach(b::addService);
      server = b.build().start();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot serve TLS gRPC on " + host + ":" + port + ": " + e.getMessage(), e);
    }
    LOG.infof("CA and TLS gRPC listening on %s:%d (root %s)", host, server.getPort(), ca.source());
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
