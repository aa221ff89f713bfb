package io.qmesh.pilot.debug;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Message;
import io.qmesh.pilot.model.MeshService;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.translate.EnvoyJson;
import io.qmesh.pilot.translate.ProxyResources;
import io.qmesh.pilot.xds.ProxyTracker;
import io.qmesh.pilot.xds.PushScheduler;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * Pilot's debug API on 15014, in the spirit of Istio's {@code /debug/*}: who is connected and in
 * what sync state ({@code /debug/connections}), what a proxy receives ({@code
 * /debug/config_dump?proxyID=}), the service registry ({@code /debug/registry}), and what {@code
 * istioctl analyze} would warn about ({@code /debug/analyze}).
 */
@Path("/debug")
@Produces(MediaType.APPLICATION_JSON)
public class DebugResource {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final ProxyTracker tracker;
  private final PushScheduler scheduler;

  public DebugResource(ProxyTracker tracker, PushScheduler scheduler) {
    this.tracker = tracker;
    this.scheduler = scheduler;
  }

  @GET
  @Path("connections")
  public ArrayNode connections() {
    ArrayNode out = JSON.createArrayNode();
    for (ProxyTracker.Connection c : tracker.connections()) {
      ObjectNode o = out.addObject();
      o.put("id", c.node().id());
      o.put("type", c.node().type().name().toLowerCase());
      o.put("namespace", c.node().namespace());
      o.put("proxyless", c.node().proxyless());
      o.put("connectedAt", c.connectedAt().toString());
      ObjectNode types = o.putObject("types");
      c.types()
          .forEach(
              (url, t) -> {
                ObjectNode s = types.putObject(ProxyTracker.shortType(url));
                s.put("sent", t.sentVersion());
                s.put("acked", t.ackedVersion());
                s.put(
                    "synced",
                    !t.sentVersion().isEmpty() && t.sentVersion().equals(t.ackedVersion()));
                if (t.lastNack() != null) {
                  ObjectNode n = s.putObject("lastNack");
                  n.put("version", t.lastNack().version());
                  n.put("error", t.lastNack().error());
                  n.put("at", t.lastNack().at().toString());
                }
              });
    }
    return out;
  }

  @GET
  @Path("config_dump")
  public Response configDump(@QueryParam("proxyID") String id) {
    if (id == null || id.isBlank()) {
      return Response.status(400).entity(Map.of("errors", List.of("proxyID is required"))).build();
    }
    return scheduler
        .proxy(id)
        .map(node -> Response.ok(render(scheduler.resourcesFor(node))).build())
        .orElseGet(
            () ->
                Response.status(404)
                    .entity(Map.of("errors", List.of("proxy " + id + " is not connected")))
                    .build());
  }

  @GET
  @Path("registry")
  public ArrayNode registry() {
    MeshSnapshot mesh = scheduler.mesh();
    ArrayNode out = JSON.createArrayNode();
    for (MeshService s : mesh.services()) {
      ObjectNode o = out.addObject();
      o.put("hostname", s.hostname());
      o.put("namespace", s.namespace());
      ArrayNode ports = o.putArray("ports");
      s.ports()
          .forEach(
              p -> {
                ObjectNode po = ports.addObject();
                po.put("port", p.port());
                po.put("name", p.name());
                po.put("protocol", p.protocol().name());
                ArrayNode eps = po.putArray("endpoints");
                mesh.endpoints(s, p)
                    .forEach(
                        e ->
                            eps.addObject()
                                .put("address", e.address())
                                .put("port", e.port())
                                .put("workload", e.workload()));
              });
    }
    return out;
  }

  /** {@link Analyzer}'s findings on the running mesh, as {@code istioctl analyze} reports them. */
  @GET
  @Path("analyze")
  public ArrayNode analyze() {
    ArrayNode out = JSON.createArrayNode();
    for (var f : Analyzer.analyze(scheduler.mesh())) {
      out.addObject()
          .put(
              "level",
              f.severity() == io.qmesh.pilot.ingest.Finding.Severity.ERROR ? "Error" : "Warning")
          .put("object", f.object())
          .put("field", f.field())
          .put("message", f.message());
    }
    return out;
  }

  /** A proxy's resources as JSON, grouped by type. */
  public static ObjectNode render(ProxyResources r) {
    ObjectNode root = JSON.createObjectNode();
    add(root.putArray("listeners"), r.listeners());
    add(root.putArray("routes"), r.routes());
    add(root.putArray("clusters"), r.clusters());
    add(root.putArray("endpoints"), r.endpoints());
    return root;
  }

  private static void add(ArrayNode array, List<? extends Message> messages) {
    for (Message m : messages) {
      try {
        JsonNode node = JSON.readTree(EnvoyJson.print(m));
        array.add(node);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
