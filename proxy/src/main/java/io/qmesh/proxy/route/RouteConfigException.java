package io.qmesh.proxy.route;

/**
 * A route configuration the proxy cannot run; the message goes back to pilot as the NACK reason.
 */
public final class RouteConfigException extends RuntimeException {
  public RouteConfigException(String message) {
    super(message);
  }
}
