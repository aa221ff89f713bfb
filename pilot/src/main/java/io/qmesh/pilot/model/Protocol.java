package io.qmesh.pilot.model;

import java.util.Locale;

/** A service port's protocol, chosen as Istio does: appProtocol, else the port name's prefix. */
public enum Protocol {
  HTTP,
  HTTP2,
  GRPC,
  HTTPS,
  TLS,
  TCP,
  /** Unnamed or unrecognised: Istio sniffs; qmesh treats it as HTTP. */
  UNKNOWN;

  /** Whether requests on this port are routed by HTTP route tables. */
  public boolean isHttp() {
    return this == HTTP || this == HTTP2 || this == GRPC || this == UNKNOWN;
  }

  /** Istio's rule: {@code appProtocol} wins; else the name up to the first '-'. */
  public static Protocol of(String name, String appProtocol) {
    if (appProtocol != null && !appProtocol.isBlank()) {
      return parse(appProtocol);
    }
    if (name == null || name.isBlank()) {
      return UNKNOWN;
    }
    int dash = name.indexOf('-');
    return parse(dash < 0 ? name : name.substring(0, dash));
  }

  /** Parses a protocol name as written in Gateway servers and ServiceEntry ports. */
  public static Protocol parse(String text) {
    return switch (text.toLowerCase(Locale.ROOT)) {
      case "http", "http1", "http/1.1" -> HTTP;
      case "http2", "h2c", "kubernetes.io/h2c" -> HTTP2;
      case "grpc", "grpc-web" -> GRPC;
      case "https" -> HTTPS;
      case "tls" -> TLS;
      case "tcp", "mongo", "mysql", "redis" -> TCP;
      default -> UNKNOWN;
    };
  }
}
