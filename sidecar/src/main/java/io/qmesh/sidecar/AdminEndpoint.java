package io.qmesh.sidecar;

import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.prometheus.client.CollectorRegistry;
import io.qmesh.proxy.Admin;
import io.qmesh.proxy.CoarseClock;
import io.qmesh.proxy.JvmMeters;
import io.qmesh.proxy.ProxyConfig;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Map;

/**
 * The sidecar's admin endpoint (127.0.0.1:15000, a Vert.x server of its own): Envoy's admin paths,
 * served by {@link Admin#listen}.
 */
@ApplicationScoped
public class AdminEndpoint {

  /** The proxy's meters, with the JVM's and the process's, on the coarse clock. */
  @Produces
  @Singleton
  PrometheusMeterRegistry prometheus() {
    return JvmMeters.bind(
        new PrometheusMeterRegistry(
            PrometheusConfig.DEFAULT, new CollectorRegistry(), CoarseClock.INSTANCE));
  }

  void start(
      @Observes StartupEvent event,
      Vertx vertx,
      SidecarConfig c,
      Sidecar sidecar,
      PrometheusMeterRegistry prometheus)
      throws Exception {
    Admin.View view =
        new Admin.View() {
          @Override
          public boolean ready() {
            return sidecar.ready();
          }

          @Override
          public Map<String, Object> configDump() {
            return Admin.configDump(sidecar.node(), sidecar.xds(), sidecar.config());
          }

          @Override
          public ProxyConfig config() {
            return sidecar.config();
          }

          @Override
          public String prometheus() {
            return prometheus.scrape();
          }

          @Override
          public io.qmesh.proxy.security.WorkloadCertificates certificates() {
            return sidecar.certificates();
          }
        };
    Sidecar.listen(
        Admin.listen(vertx, "127.0.0.1", c.adminPort(), view), "127.0.0.1", c.adminPort(), "admin");
  }
}
