package io.qmesh.proxy.route;

/** What route matching reads of a request; the HTTP layer adapts its request to this. */
public interface Request {

  String method();

  /** The host the request is for, as sent (Host or :authority), possibly with a port. */
  String authority();

  /** The path with its query string, as sent. */
  String path();

  /** {@code http} or {@code https}. */
  String scheme();

  /** A header's value by lower-case name (all values joined by ','), or null when absent. */
  String header(String name);
}
