package io.qmesh.sidecar;

import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.qmesh.proxy.Admin;
import io.qmesh.proxy.ProxyConfig;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.Map;

/**
 * The sidecar's admin endpoint (127.0.0.1:15000, Quarkus' HTTP server): Envoy's admin paths, served
 * by {@link Admin#serve} straight from the router.
 */
@ApplicationScoped
public class AdminRoutes {

  void routes(@Observes Router router, Sidecar sidecar, PrometheusMeterRegistry prometheus) {
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
    router
        .route()
        .order(-100)
        .handler(
            ctx -> {
              if (!Admin.serve(ctx.request(), view)) {
                ctx.next();
              }
            });
  }
}
