package io.qmesh.pilot;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** Pilot's settings ({@code qmesh.pilot.*}). */
@ConfigMapping(prefix = "qmesh.pilot")
public interface PilotConfig {

  /** Where the local config store keeps its objects ({@code <state-dir>/config}). */
  @WithDefault(".qmesh")
  String stateDir();

  /** The plaintext xDS (ADS) port; 0 picks a free one. */
  @WithDefault("15010")
  int xdsPort();

  /** The address the xDS server binds. */
  @WithDefault("0.0.0.0")
  String xdsHost();

  /**
   * istiod's TLS gRPC port: the CA ({@code CreateCertificate}) and ADS over TLS; 0 picks a free
   * one, -1 turns the CA off.
   */
  @WithDefault("15012")
  int caPort();

  /** The CA's settings ({@code qmesh.pilot.ca.*}). */
  Ca ca();

  /** {@code qmesh.pilot.ca.*}. */
  interface Ca {
    /** Workload certificates' lifetime when the request names none (Istio's 24 h). */
    @WithDefault("24h")
    Duration defaultTtl();

    /** The longest lifetime a workload may ask for (Istio's 90 days). */
    @WithDefault("2160h")
    Duration maxTtl();

    /**
     * The key of the bootstrap credentials (laptop mode); default {@code <state-dir>/ca/token-key},
     * created when absent.
     */
    java.util.Optional<String> tokenKey();
  }

  /** How long after a change pilot waits for more before pushing (a burst is one push). */
  @WithDefault("100ms")
  Duration debounce();

  /**
   * Istio's {@code PILOT_PUSH_THROTTLE}: how many xDS responses may wait in pilot's transports at a
   * time (see {@link io.qmesh.pilot.xds.XdsServer}).
   */
  @WithDefault("100")
  int pushThrottle();

  /** How long an auto-registered workload outlives its proxy's stream (reconnects keep it). */
  @WithDefault("10s")
  Duration registrationGrace();

  /** The namespace of applied objects that name none. */
  @WithDefault("default")
  String defaultNamespace();

  /** The mesh config: Istio's {@code meshConfig} fields for tracing and access logs. */
  Mesh mesh();

  /** {@code qmesh.pilot.mesh.*}, see {@link io.qmesh.pilot.model.MeshConfig}. */
  interface Mesh {
    @WithDefault("true")
    boolean enableTracing();

    @WithDefault("1.0")
    double sampling();

    @WithDefault("zipkin")
    String tracingProvider();

    @WithDefault("zipkin.istio-system:9411")
    String zipkinAddress();

    @WithDefault("opentelemetry-collector.observability:4318")
    String otlpAddress();

    /** Empty: no access logs. */
    java.util.Optional<String> accessLogFile();

    @WithDefault("TEXT")
    String accessLogEncoding();

    java.util.Optional<String> accessLogFormat();

    default io.qmesh.pilot.model.MeshConfig toModel() {
      return new io.qmesh.pilot.model.MeshConfig(
          enableTracing(),
          sampling(),
          tracingProvider(),
          zipkinAddress(),
          otlpAddress(),
          accessLogFile().orElse(""),
          accessLogEncoding(),
          accessLogFormat().orElse(""));
    }
  }
}
