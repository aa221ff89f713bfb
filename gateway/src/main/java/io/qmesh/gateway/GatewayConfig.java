package io.qmesh.gateway;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The gateway's settings ({@code qmesh.gateway.*}, or QMESH_GATEWAY_* environment variables). */
@ConfigMapping(prefix = "qmesh.gateway")
public interface GatewayConfig {

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
   * absent the gateway runs without mutual TLS.
   */
  @WithDefault("/var/run/secrets/istio/root-cert.pem")
  String caRoot();

  /** The gateway's credential for the CA (Istio's projected token path). */
  @WithDefault("/var/run/secrets/tokens/istio-token")
  String caToken();

  /** The certificate lifetime to ask for; 0 takes the CA's default (24 h). */
  @WithDefault("0s")
  java.time.Duration certTtl();

  /** The gateway's namespace: Istio's root namespace. */
  @WithDefault("istio-system")
  String namespace();

  /** The workload name. */
  @WithDefault("istio-ingressgateway")
  String workload();

  /** Labels Gateway resources select it by: Istio's samples use {@code istio: ingressgateway}. */
  @WithDefault("istio=ingressgateway,app=istio-ingressgateway")
  String labels();

  /** Its service account. */
  @WithDefault("istio-ingressgateway-service-account")
  String serviceAccount();

  /** Its address. */
  @WithDefault("127.0.0.1")
  String instanceIp();

  /** Istio's readiness port: {@code /healthz/ready} (on the listen host). */
  @WithDefault("15021")
  int healthPort();

  /** On shutdown, how long requests in flight may take to finish (Istio's drain duration). */
  @WithDefault("5s")
  java.time.Duration drainDuration();

  /** Envoy's admin port (on 127.0.0.1 only): {@code /config_dump}, {@code /clusters}, ... */
  @WithDefault("15000")
  int adminPort();

  /** Istio's proxy Prometheus port: the proxy's metrics at {@code /stats/prometheus}. */
  @WithDefault("15090")
  int prometheusPort();

  /**
   * Istio's merged Prometheus port (15020 {@code /stats/prometheus}); a gateway has no app, so it
   * serves the proxy's metrics.
   */
  @WithDefault("15020")
  int mergedPrometheusPort();

  /** Where the listeners from the Gateway servers bind. */
  @WithDefault("0.0.0.0")
  String listenHost();
}
