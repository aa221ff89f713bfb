package io.qmesh.proxy.listener;

/** Envoy's response flags for what went wrong, with the status the proxy answers. */
public enum ResponseFlag {
  /** No route matched the request. */
  NR(404, "no route"),
  /** The cluster has no host to send to. */
  UH(503, "no healthy upstream"),
  /** The upstream could not be reached (Envoy's 503). */
  UF(
      503,
      "upstream connect error or disconnect/reset before headers. reset reason: connection failure"),
  /**
   * The upstream connection closed or reset before the answer began (Envoy's 503; Istio's default
   * retry policy retries 503s, which covers a pooled connection the upstream closed as it was
   * reused).
   */
  UC(
      503,
      "upstream connect error or disconnect/reset before headers. reset reason: connection"
          + " termination"),
  /** The route names a cluster the proxy does not know. */
  NC(503, "no cluster"),
  /** The upstream did not answer within the route's timeout. */
  UT(504, "upstream request timeout"),
  /** The cluster's circuit breaker was open: too many connections, pending requests or requests. */
  UO(503, "upstream connect error or disconnect/reset before headers. reset reason: overflow"),
  /** The retry policy would have retried the upstream's answer, but no attempt was left. */
  URX(503, "upstream retry limit exceeded"),
  /** The fault filter delayed the request. */
  DI(200, "delayed by fault injection"),
  /** The fault filter aborted the request. */
  FI(503, "fault filter abort"),
  /** The downstream request broke HTTP's rules (Envoy's downstream protocol error). */
  DPE(400, "downstream protocol error");

  final int status;
  final String message;

  ResponseFlag(int status, String message) {
    this.status = status;
    this.message = message;
  }
}
