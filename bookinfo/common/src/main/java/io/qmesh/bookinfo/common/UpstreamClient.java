package io.qmesh.bookinfo.common;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Non-blocking HTTP/1.1 GETs to other Bookinfo services, through the configured proxy. One instance
 * per application; it is thread-safe and pools connections.
 */
public final class UpstreamClient {

  private final HttpClient http;

  public UpstreamClient(ProxySettings proxy) {
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .proxy(proxy.selector())
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /**
   * Sends a GET with the given headers.
   *
   * @return the status and body; fails with the transport's exception (connect refused, timeout)
   */
  public CompletableFuture<UpstreamResponse> get(
      URI uri, Map<String, String> headers, Duration timeout) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(timeout).GET();
    headers.forEach(request::header);
    return http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString())
        .thenApply(r -> new UpstreamResponse(r.statusCode(), r.body()));
  }

  /** Builds {@code http://<hostname><.domain>:<port><path>}, as Istio's Bookinfo names services. */
  public static URI serviceUri(String hostname, String servicesDomain, int port, String path) {
    String domain = servicesDomain == null || servicesDomain.isBlank() ? "" : "." + servicesDomain;
    return URI.create("http://" + hostname + domain + ":" + port + path);
  }

  /** What an upstream answered. */
  public record UpstreamResponse(int status, String body) {
    public boolean ok() {
      return status == 200;
    }
  }
}
