package io.qmesh.echo;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.Map;

/**
 * Configures the echo under test: a free gRPC port (Quarkus' separate gRPC server takes no port 0)
 * with a client named "echo" pointing at it, a free TCP port, a fixed version and host name, and
 * the failure fraction given as arg {@code fail-fraction}.
 */
public class EchoPortsResource implements QuarkusTestResourceLifecycleManager {

  private String failFraction = "0";

  @Override
  public void init(Map<String, String> initArgs) {
    failFraction = initArgs.getOrDefault("fail-fraction", "0");
  }

  @Override
  public Map<String, String> start() {
    int grpcPort = freePort();
    Map<String, String> config = new HashMap<>();
    config.put("quarkus.grpc.server.test-port", String.valueOf(grpcPort));
    config.put("quarkus.grpc.clients.echo.host", "127.0.0.1");
    config.put("quarkus.grpc.clients.echo.port", String.valueOf(grpcPort));
    config.put("echo.tcp-port", "0");
    config.put("echo.version", "v7");
    config.put("echo.hostname", "echo-v7-test");
    config.put("echo.fail-fraction", failFraction);
    return config;
  }

  @Override
  public void stop() {}

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
