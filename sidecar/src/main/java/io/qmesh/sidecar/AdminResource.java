package io.qmesh.sidecar;

import io.micrometer.prometheus.PrometheusMeterRegistry;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;

/** The proxy's admin endpoint (127.0.0.1:15000): readiness and what the proxy runs. */
@Path("/")
public class AdminResource {

  private final Sidecar sidecar;

  private final PrometheusMeterRegistry prometheus;

  public AdminResource(Sidecar sidecar, PrometheusMeterRegistry prometheus) {
    this.sidecar = sidecar;
    this.prometheus = prometheus;
  }

  @GET
  @Path("ready")
  @Produces(MediaType.TEXT_PLAIN)
  public Response ready() {
    return sidecar.ready()
        ? Response.ok("LIVE\n").build()
        : Response.status(503).entity("PRE_INITIALIZING\n").build();
  }

  @GET
  @Path("stats/prometheus")
  @Produces("text/plain; version=0.0.4; charset=utf-8")
  public String stats() {
    return prometheus.scrape();
  }

  @GET
  @Path("clusters")
  @Produces(MediaType.TEXT_PLAIN)
  public String clusters() {
    return io.qmesh.proxy.Admin.clusters(sidecar.config());
  }

  @GET
  @Path("config_dump")
  @Produces(MediaType.APPLICATION_JSON)
  public Map<String, Object> configDump() {
    return io.qmesh.proxy.Admin.configDump(sidecar.node(), sidecar.xds(), sidecar.config());
  }
}
