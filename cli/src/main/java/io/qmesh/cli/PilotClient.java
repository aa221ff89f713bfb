package io.qmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Pilot's HTTP API on 15014 ({@code QMESH_PILOT_HTTP} moves it): the config API that apply, delete
 * and get use, and the debug endpoints behind proxy-status.
 */
final class PilotClient {

  static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final String base;

  PilotClient(String address) {
    this.base = "http://" + address;
  }

  static PilotClient local() {
    String a = System.getProperty("qmesh.pilot.http", System.getenv("QMESH_PILOT_HTTP"));
    return new PilotClient(a == null || a.isBlank() ? "127.0.0.1:" + Ports.PILOT_HTTP : a);
  }

  /** An answer: the status and the JSON body (a text node when the body is not JSON). */
  record Answer(int status, JsonNode body) {
    boolean ok() {
      return status / 100 == 2;
    }
  }

  Answer post(String path, String body) {
    return send(
        HttpRequest.newBuilder(uri(path))
            .header("content-type", "application/yaml")
            .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  Answer get(String path) {
    return send(HttpRequest.newBuilder(uri(path)).GET());
  }

  Answer delete(String path) {
    return send(HttpRequest.newBuilder(uri(path)).DELETE());
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private URI uri(String path) {
    return URI.create(base + path);
  }

  private Answer send(HttpRequest.Builder b) {
    try {
      HttpResponse<String> r =
          HTTP.send(
              b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
      JsonNode body;
      try {
        body = JSON.readTree(r.body());
      } catch (IOException e) {
        body = JSON.getNodeFactory().textNode(r.body());
      }
      return new Answer(r.statusCode(), body == null ? JSON.nullNode() : body);
    } catch (ConnectException | HttpConnectTimeoutException e) {
      throw new Failure(
          "pilot is not answering at "
              + base
              + ": is the mesh running? (`qmesh up` starts it, `qmesh status` shows it)");
    } catch (IOException e) {
      throw new Failure("talking to pilot at " + base + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failure("interrupted");
    }
  }

  /** The errors of a refused request, one per line, as pilot gave them. */
  static String errors(Answer a) {
    JsonNode errs = a.body().path("errors");
    if (!errs.isArray() || errs.isEmpty()) {
      return "pilot answered " + a.status() + ": " + a.body();
    }
    StringBuilder out = new StringBuilder();
    errs.forEach(e -> out.append(out.length() == 0 ? "" : "\n").append(e.asText()));
    return out.toString();
  }
}
