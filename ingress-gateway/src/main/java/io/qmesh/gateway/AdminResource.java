package io.qmesh.gateway;

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

  private final IngressGateway gateway;

  public AdminResource(IngressGateway gateway) {
    this.gateway = gateway;
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
  @Path("config_dump")
  @Produces(MediaType.APPLICATION_JSON)
  public Map<String, Object> configDump() {
    Map<String, Object> out =
        new LinkedHashMap<>(Admin.configDump(gateway.node(), gateway.xds(), gateway.config()));
    out.put("ports", gateway.ports());
    return out;
  }
}
