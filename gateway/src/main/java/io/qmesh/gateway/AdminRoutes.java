package io.qmesh.gateway;

import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.qmesh.proxy.Admin;
import io.qmesh.proxy.ProxyConfig;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The gateway's admin endpoint (127.0.0.1:15000, Quarkus' HTTP server): Envoy's admin paths, served
 * by {@link Admin#serve} straight from the router; the config dump adds the ports bound.
 */
@ApplicationScoped
public class AdminRoutes {

  void routes(@Observes Router router, Gateway gateway, PrometheusMeterRegistry prometheus) {
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
