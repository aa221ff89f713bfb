package io.qmesh.gateway;

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
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The gateway's admin endpoint (127.0.0.1:15000, a Vert.x server of its own): Envoy's admin paths,
 * served by {@link Admin#listen}; the config dump adds the ports bound.
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
      GatewayConfig c,
      Gateway gateway,
      PrometheusMeterRegistry prometheus)
      throws Exception {
    Admin.View view =
        new Admin.View() {
          @Override
          public boolean ready() {
            return gateway.ready();
          }

          @Override
          public Map<String, Object> configDump() {
            Map<String, Object> out =
                new LinkedHashMap<>(
                    Admin.configDump(gateway.node(), gateway.xds(), gateway.config()));
            out.put("ports", gateway.ports());
            return out;
          }

          @Override
          public ProxyConfig config() {
            return gateway.config();
          }

          @Override
          public String prometheus() {
            return prometheus.scrape();
          }

          @Override
          public io.qmesh.proxy.security.WorkloadCertificates certificates() {
            return gateway.certificates();
          }
        };
    Admin.listen(vertx, "127.0.0.1", c.adminPort(), view)
        .toCompletionStage()
        .toCompletableFuture()
        .get(10, java.util.concurrent.TimeUnit.SECONDS);
  }
}
