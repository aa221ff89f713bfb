package io.qmesh.sidecar;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("node", sidecar.node() == null ? "" : sidecar.node().getId());
    out.put("versions", sidecar.xds() == null ? Map.of() : sidecar.xds().versions());
    var r =
        sidecar.xds() == null ? io.qmesh.proxy.xds.XdsResources.EMPTY : sidecar.xds().resources();
    out.put("listeners", List.copyOf(new TreeMap<>(r.listeners()).keySet()));
    out.put("routes", List.copyOf(new TreeMap<>(sidecar.config().routes()).keySet()));
    Map<String, List<String>> clusters = new TreeMap<>();
    sidecar
        .config()
        .clusters()
        .forEach(
            (name, c) -> clusters.put(name, c.hosts().stream().map(Object::toString).toList()));
    out.put("clusters", clusters);
    return out;
  }
}
