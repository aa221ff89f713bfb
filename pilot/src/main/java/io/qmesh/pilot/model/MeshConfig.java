package io.qmesh.pilot.model;

/**
 * The parts of Istio's {@code MeshConfig} that qmesh reads, with Istio's defaults: tracing on at 1%
 * to {@code zipkin.istio-system:9411}, no access logs. The demo profile ({@code qmesh up}) turns
 * sampling to 100% and access logs to {@code /dev/stdout}.
 *
 * @param enableTracing {@code enableTracing}: trace context is handled at all
 * @param sampling {@code defaultConfig.tracing.sampling}, percent
 * @param tracingProvider the default tracing provider: {@code zipkin}, {@code opentelemetry} or
 *     {@code none} (propagate the context, report no spans)
 * @param zipkinAddress {@code defaultConfig.tracing.zipkin.address}, host:port
 * @param otlpAddress the OpenTelemetry collector's OTLP/HTTP address, host:port
 * @param accessLogFile {@code accessLogFile}: empty for none, {@code /dev/stdout}, or a path
 * @param accessLogEncoding {@code accessLogEncoding}: {@code TEXT} or {@code JSON}
 * @param accessLogFormat {@code accessLogFormat}: empty for Istio's default format
 */
public record MeshConfig(
    boolean enableTracing,
    double sampling,
    String tracingProvider,
    String zipkinAddress,
    String otlpAddress,
    String accessLogFile,
    String accessLogEncoding,
    String accessLogFormat) {

  public static final MeshConfig DEFAULT =
      new MeshConfig(
          true,
          1.0,
          "zipkin",
          "zipkin.istio-system:9411",
          "opentelemetry-collector.observability:4318",
          "",
          "TEXT",
          "");
}
