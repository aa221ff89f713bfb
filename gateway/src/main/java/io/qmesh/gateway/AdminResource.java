package io.qmesh.gateway;

import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.qmesh.proxy.Admin;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;

/** The gateway's admin endpoint (127.0.0.1:15000): readiness and what it runs, with its ports. */
@Path("/")
public class AdminResource {

  private final Gateway gateway;

  private final PrometheusMeterRegistry prometheus;

  public AdminResource(Gateway gateway, PrometheusMeterRegistry prometheus) {
    this.gateway = gateway;
    this.prometheus = prometheus;
  }

  @GET
  @Path("ready")
  @Produces(MediaType.TEXT_PLAIN)
  public Response ready() {
    return gateway.ready()
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
    return Admin.clusters(gateway.config());
  }

  @GET
  @Path("config_dump")
  @Produces(MediaType.APPLICATION_JSON)
  public Map<String, Object> configDump() {
    Map<String, Object> out =
        new LinkedHashMap<>(Admin.configDump(gateway.node(), gateway.xds(), gateway.config()));
    out.put("ports", gateway.ports());
    return out;
  }
}
