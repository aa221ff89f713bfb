package io.qmesh.proxy.route;

import java.util.Map;

/** A request for route tests. */
record TestRequest(
    String method, String authority, String path, String scheme, Map<String, String> headers)
    implements Request {

  static TestRequest get(String authority, String path) {
    return new TestRequest("GET", authority, path, "http", Map.of());
  }

  TestRequest with(String header, String value) {
    var h = new java.util.HashMap<>(headers);
    h.put(header, value);
    return new TestRequest(method, authority, path, scheme, Map.copyOf(h));
  }

  @Override
  public String header(String name) {
    return headers.get(name);
  }
}
