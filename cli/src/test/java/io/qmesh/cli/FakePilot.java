package io.qmesh.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A stand-in for pilot's HTTP API over a real socket: answers each request with what {@code answer}
 * gives for "METHOD path body", and records the requests.
 */
final class FakePilot implements AutoCloseable {

  /** A canned answer. */
  record Answer(int status, String json) {}

  final List<String> requests = new ArrayList<>();
  private final HttpServer server;

  FakePilot(Function<String, Answer> answer) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/",
        ex -> {
          String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          String request = ex.getRequestMethod() + " " + ex.getRequestURI() + " " + body;
          synchronized (requests) {
            requests.add(request);
          }
          Answer a = answer.apply(request);
          byte[] out = a.json().getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().add("content-type", "application/json");
          ex.sendResponseHeaders(a.status(), out.length);
          ex.getResponseBody().write(out);
          ex.close();
        });
    server.start();
    System.setProperty("qmesh.pilot.http", "127.0.0.1:" + server.getAddress().getPort());
  }

  @Override
  public void close() {
    System.clearProperty("qmesh.pilot.http");
    server.stop(0);
  }
}
