package io.qmesh.proxy.route;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.qmesh.proxy.xds.TypedConfigs;
import java.util.random.RandomGenerator;

/**
 * A route's fault injection (Envoy's {@code envoy.filters.http.fault} per-route config, Istio's
 * {@code fault}): a fixed delay for a share of requests, then an abort for a share of requests,
 * each drawn independently per request. Shares are in parts per million.
 */
public record Fault(
    long delayMillis, int delayPerMillion, int abortStatus, int grpcStatus, int abortPerMillion) {

  /** No gRPC status: the abort answers with {@code abortStatus}. */
  public static final int NO_GRPC = -1;

  public static final String FILTER = "envoy.filters.http.fault";

  /**
   * @return the fault, or null when the route injects none
   */
  public static Fault of(com.google.protobuf.Any any, String where) {
    HTTPFault f;
    try {
      f = TypedConfigs.unpack(any, HTTPFault.getDescriptor(), HTTPFault.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new RouteConfigException(where + ": " + FILTER + " does not decode: " + e.getMessage());
    }
    long delay = 0;
    int delayShare = 0;
    if (f.hasDelay()) {
      if (!f.getDelay().hasFixedDelay()) {
        throw new RouteConfigException(where + ": fault delay without a fixed delay");
      }
      var d = f.getDelay().getFixedDelay();
      delay = d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
      delayShare = perMillion(f.getDelay().hasPercentage(), f.getDelay().getPercentage());
    }
    int status = 0;
    int grpc = NO_GRPC;
    int abortShare = 0;
    if (f.hasAbort()) {
      var a = f.getAbort();
      switch (a.getErrorTypeCase()) {
        case HTTP_STATUS -> status = a.getHttpStatus();
        case GRPC_STATUS -> {
          status = 200;
          grpc = a.getGrpcStatus();
        }
        default ->
            throw new RouteConfigException(
                where + ": fault abort needs an http_status or a grpc_status");
      }
      if (status < 200 || status > 599) {
        throw new RouteConfigException(where + ": fault abort status " + status + " is not HTTP");
      }
      abortShare = perMillion(a.hasPercentage(), a.getPercentage());
    }
    return delayShare == 0 && abortShare == 0
        ? null
        : new Fault(delay, delayShare, status, grpc, abortShare);
  }

  /** Envoy's FractionalPercent as parts per million (absent = 100%). */
  static int perMillion(boolean present, FractionalPercent p) {
    if (!present) {
      return 1_000_000;
    }
    long scale =
        switch (p.getDenominator()) {
          case HUNDRED -> 10_000;
          case TEN_THOUSAND -> 100;
          default -> 1;
        };
    return (int) Math.min(1_000_000, p.getNumerator() * scale);
  }

  /** Whether this request is delayed. */
  public boolean delays(RandomGenerator random) {
    return delayPerMillion > 0 && random.nextInt(1_000_000) < delayPerMillion;
  }

  /** Whether this request is aborted. */
  public boolean aborts(RandomGenerator random) {
    return abortPerMillion > 0 && random.nextInt(1_000_000) < abortPerMillion;
  }
}
