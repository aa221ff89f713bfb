package io.qmesh.sidecar;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Optional;

/** The sidecar's settings ({@code qmesh.sidecar.*}, or QMESH_SIDECAR_* environment variables). */
@ConfigMapping(prefix = "qmesh.sidecar")
public interface SidecarConfig {

  /** Pilot's xDS address, {@code host:port}. */
  @WithDefault("istiod.istio-system.svc:15010")
  String pilot();

  /**
   * Whether the xDS stream speaks delta (incremental) xDS, Istio's default since 1.22; false for
   * state of the world.
   */
  @WithDefault("true")
  boolean xdsDelta();

  /** The CA's address ({@code host:port}; istiod's TLS port). */
  @WithDefault("istiod.istio-system.svc:15012")
  String ca();

  /**
   * The mesh's root certificate (Istio mounts the {@code istio-ca-root-cert} ConfigMap here); when
   * absent the sidecar runs without mutual TLS.
   */
  @WithDefault("/var/run/secrets/istio/root-cert.pem")
  String caRoot();

  /** The workload's credential for the CA (Istio's projected token path). */
  @WithDefault("/var/run/secrets/tokens/istio-token")
  String caToken();

  /** The certificate lifetime to ask for; 0 takes the CA's default (24 h). */
  @WithDefault("0s")
  java.time.Duration certTtl();

  /** The workload's namespace. */
  @WithDefault("default")
  String namespace();

  /** The workload's name (a Deployment's, or the laptop mode's {@code reviews-v1}). */
  String workload();

  /** The workload's labels: {@code app=reviews,version=v1}. */
  @WithDefault("")
  String labels();

  /** The workload's service account (its identity). */
  @WithDefault("default")
  String serviceAccount();

  /** The address other workloads reach this one on. */
  @WithDefault("127.0.0.1")
  String instanceIp();

  /** Where the outbound listener binds (the app's HTTP proxy). */
  @WithDefault("127.0.0.1")
  String outboundHost();

  /** The outbound port; apps send their requests here. */
  @WithDefault("15001")
  int outboundPort();

  /** Envoy's admin port (on 127.0.0.1 only): {@code /config_dump}, {@code /clusters}, ... */
  @WithDefault("15000")
  int adminPort();

  /** Istio's proxy Prometheus port: the proxy's metrics on {@code /stats/prometheus}. */
  @WithDefault("15090")
  int prometheusPort();

  /**
   * Istio's merged Prometheus port: the proxy's metrics and the application's ({@link #appMetrics})
   * on {@code /stats/prometheus}, one scrape target per workload.
   */
  @WithDefault("15020")
  int mergedPrometheusPort();

  /**
   * The application's Prometheus endpoint to merge, an {@code http://} URL (Istio reads it from the
   * pod's {@code prometheus.io/port} and {@code prometheus.io/path} annotations).
   */
  Optional<String> appMetrics();

  /** Istio's readiness port: {@code /healthz/ready} (on the inbound host). */
  @WithDefault("15021")
  int healthPort();

  /** On shutdown, how long requests in flight may take to finish (Istio's drain duration). */
  @WithDefault("5s")
  java.time.Duration drainDuration();

  /** Where inbound listeners bind. */
  @WithDefault("0.0.0.0")
  String inboundHost();

  /**
   * The workload's ports: {@code targetPort:listenPort:appPort[/tcp],...}. The sidecar listens on
   * listenPort for the service's target port and delivers to the app on appPort: HTTP (HTTP/1.1 or
   * h2c) by default, plain TCP with {@code /tcp}.
   */
  Optional<String> inbound();
}
