package io.qmesh.proxy.telemetry;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.config.trace.v3.ZipkinConfig;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.qmesh.proxy.xds.TypedConfigs;
import java.net.URI;
import java.util.List;
import java.util.function.Function;

/**
 * A connection manager's tracing, compiled: the share of requests that start a sampled trace, where
 * spans go (null: the context is propagated, no span is reported), and the custom tags.
 *
 * @param sampling the random sampling fraction, 0 to 1, for requests that carry no decision
 * @param collector where spans are exported, or null
 * @param tags Envoy's custom tags (literal, request header, environment)
 */
public record TracePolicy(double sampling, Collector collector, List<CustomTag> tags) {

  /** A span exporter: Zipkin's JSON v2 API or OTLP over HTTP, at a URL. */
  public record Collector(Kind kind, String url) {}

  public enum Kind {
    ZIPKIN,
    OTLP
  }

  /**
   * Compiles the tracing of a connection manager.
   *
   * @param clusterHost the first {@code host:port} of a cluster by name, or null when it has none
   * @throws IllegalArgumentException when the provider is one qmesh does not run
   */
  public static TracePolicy compile(
      HttpConnectionManager.Tracing t, Function<String, String> clusterHost) {
    double sampling = t.hasRandomSampling() ? t.getRandomSampling().getValue() / 100.0 : 1.0;
    Collector collector = null;
    if (t.hasProvider()) {
      var any = t.getProvider().getTypedConfig();
      try {
        if (TypedConfigs.is(any, ZipkinConfig.getDescriptor())) {
          ZipkinConfig z =
              TypedConfigs.unpack(any, ZipkinConfig.getDescriptor(), ZipkinConfig.parser());
          String host = clusterHost.apply(z.getCollectorCluster());
          if (host != null) {
            String path =
                z.getCollectorEndpoint().isEmpty() ? "/api/v2/spans" : z.getCollectorEndpoint();
            collector = new Collector(Kind.ZIPKIN, "http://" + host + path);
          }
        } else if (TypedConfigs.is(any, OpenTelemetryConfig.getDescriptor())) {
          OpenTelemetryConfig o =
              TypedConfigs.unpack(
                  any, OpenTelemetryConfig.getDescriptor(), OpenTelemetryConfig.parser());
          if (!o.hasHttpService()) {
            throw new IllegalArgumentException(
                "tracing: OpenTelemetry is exported over HTTP only (http_service)");
          }
          var uri = o.getHttpService().getHttpUri();
          String host = clusterHost.apply(uri.getCluster());
          if (host != null) {
            String path = URI.create(uri.getUri()).getRawPath();
            collector =
                new Collector(
                    Kind.OTLP,
                    "http://" + host + (path == null || path.isEmpty() ? "/v1/traces" : path));
          }
        } else {
          throw new IllegalArgumentException(
              "tracing provider " + t.getProvider().getName() + " is not supported");
        }
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalArgumentException("tracing provider does not decode: " + e.getMessage());
      }
    }
    return new TracePolicy(
        Math.max(0, Math.min(1, sampling)), collector, List.copyOf(t.getCustomTagsList()));
  }
}
