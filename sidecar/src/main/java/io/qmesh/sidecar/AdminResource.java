package io.qmesh.sidecar;

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

  public AdminResource(Sidecar sidecar) {
    this.sidecar = sidecar;
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
  @Path("config_dump")
  @Produces(MediaType.APPLICATION_JSON)
  public Map<String, Object> configDump() {
    return io.qmesh.proxy.Admin.configDump(sidecar.node(), sidecar.xds(), sidecar.config());
  }
}
