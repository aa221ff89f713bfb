package io.qmesh.echo;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The TCP face: on a connection's first bytes it writes ServiceVersion, ServicePort and Hostname
 * lines, then echoes every byte it receives, as Istio's echo does.
 */
@Singleton
public class EchoTcpServer {

  private final Vertx vertx;
  private final Identity identity;
  private final int port;
  private final String host;
  private volatile NetServer server;

  public EchoTcpServer(
      Vertx vertx,
      Identity identity,
      EchoConfig config,
      @ConfigProperty(name = "quarkus.http.host", defaultValue = "0.0.0.0") String host) {
    this.vertx = vertx;
    this.identity = identity;
    this.port = config.tcpPort();
    this.host = host;
  }

  void start(@Observes StartupEvent event) {
    if (port < 0) {
      return;
    }
    server =
        vertx
            .createNetServer()
            .connectHandler(this::serve)
            .listen(port, host)
            .toCompletionStage()
            .toCompletableFuture()
            .join();
  }

  void stop(@Observes ShutdownEvent event) {
    if (server != null) {
      server.close();
    }
  }

  /** The port it listens on, once started; -1 when the TCP face is off. */
  public int actualPort() {
    return server == null ? -1 : server.actualPort();
  }

  private void serve(NetSocket socket) {
    boolean[] first = {true};
    socket.handler(
        data -> {
          if (first[0]) {
            first[0] = false;
            StringBuilder hello = new StringBuilder();
            EchoRoutes.line(hello, "ServiceVersion", identity.version());
            EchoRoutes.line(hello, "ServicePort", String.valueOf(socket.localAddress().port()));
            EchoRoutes.line(hello, "Hostname", identity.hostname());
            socket.write(Buffer.buffer(hello.toString()));
          }
          socket.write(data);
        });
  }
}
