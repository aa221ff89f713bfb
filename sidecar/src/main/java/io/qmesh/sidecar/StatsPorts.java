package io.qmesh.sidecar;

import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.qmesh.proxy.StatsServer;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The sidecar's Prometheus ports, Istio's 15090 (the proxy's) and 15020 (merged with the app's).
 */
@ApplicationScoped
public class StatsPorts {

  private static final Logger LOG = Logger.getLogger(StatsPorts.class);

  void start(
      @Observes StartupEvent event, Vertx vertx, SidecarConfig c, PrometheusMeterRegistry registry)
      throws Exception {
    StatsServer.listen(vertx, c.inboundHost(), c.prometheusPort(), registry::scrape, null)
        .toCompletionStage()
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    StatsServer.listen(
            vertx,
            c.inboundHost(),
            c.mergedPrometheusPort(),
            registry::scrape,
            c.appMetrics().orElse(null))
        .toCompletionStage()
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    LOG.infof(
        "metrics: proxy %s:%d, merged %s:%d%s",
        c.inboundHost(),
        c.prometheusPort(),
        c.inboundHost(),
        c.mergedPrometheusPort(),
        c.appMetrics().map(a -> " with " + a).orElse(""));
  }
}
