package io.qmesh.proxy.listener;

import io.qmesh.proxy.route.Request;
import io.vertx.core.http.HttpServerRequest;

/**
 * A downstream request as route matching sees it, in either form a sidecar receives: absolute-form
 * ({@code GET http://reviews:9080/x}, an application using the sidecar as its HTTP proxy) or
 * origin-form with a Host header (transparent interception, gateways).
 */
final class HttpRequestView implements Request {

  private final HttpServerRequest request;
  private final String authority;
  private final String path;

  HttpRequestView(HttpServerRequest request) {
    this.request = request;
    String uri = request.uri();
    if (uri.startsWith("http://") || uri.startsWith("https://")) {
      int start = uri.indexOf("://") + 3;
      int slash = uri.indexOf('/', start);
      this.authority = slash < 0 ? uri.substring(start) : uri.substring(start, slash);
      this.path = slash < 0 ? "/" : uri.substring(slash);
    } else {
      // Host on HTTP/1.1, :authority on HTTP/2 (Vert.x gives either as host()).
      String host = request.host();
      this.authority = host == null ? "" : host;
      this.path = uri;
    }
  }

  /** Where the authority's port begins (its colon), or -1 when it names none. */
  private int portColon() {
    int colon = authority.lastIndexOf(':');
    return colon > 0 && authority.indexOf(']') < colon ? colon : -1;
  }

  /** The authority without its port. */
  String host() {
    int colon = portColon();
    return colon < 0 ? authority : authority.substring(0, colon);
  }

  /** The authority's {@code :port}, or "" when it names none. */
  String portSuffix() {
    int colon = portColon();
    return colon < 0 ? "" : authority.substring(colon);
  }

  /** The port the request is for: the authority's, else 80. */
  int port() {
    int colon = portColon();
    if (colon > 0) {
      try {
        return Integer.parseInt(authority.substring(colon + 1));
      } catch (NumberFormatException e) {
        return -1;
      }
    }
    return 80;
  }

  @Override
  public String method() {
    return request.method().name();
  }

  @Override
  public String authority() {
    return authority;
  }

  @Override
  public String path() {
    return path;
  }

  @Override
  public String scheme() {
    return "http";
  }

  @Override
  public String header(String name) {
    var all = request.headers().getAll(name);
    return all.isEmpty() ? null : all.size() == 1 ? all.get(0) : String.join(",", all);
  }
}
