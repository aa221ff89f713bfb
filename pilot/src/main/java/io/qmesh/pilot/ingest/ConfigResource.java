package io.qmesh.pilot.ingest;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.qmesh.api.config.ConfigException;
import io.qmesh.api.config.ConfigKey;
import io.qmesh.api.config.ConfigKind;
import io.qmesh.api.config.ConfigObject;
import io.qmesh.api.config.ConfigParser;
import io.qmesh.pilot.PilotConfig;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The local config API on 15014, what {@code qmesh apply/delete/get} talk to: {@code POST
 * /apis/config} applies YAML or JSON, {@code POST /apis/delete} deletes the objects a document
 * names, {@code GET /apis/config[/kind[/namespace/name]]} reads.
 */
@Path("/apis")
@Produces(MediaType.APPLICATION_JSON)
public class ConfigResource {

  private final ConfigStore store;
  private final String defaultNamespace;
  private final Counter rejected;

  public ConfigResource(ConfigStore store, PilotConfig config, MeterRegistry metrics) {
    this.store = store;
    this.defaultNamespace = config.defaultNamespace();
    this.rejected =
        Counter.builder("pilot_total_config_rejects")
            .description("Applies and deletes rejected for invalid config")
            .register(metrics);
  }

  @POST
  @Path("config")
  @Consumes(MediaType.WILDCARD)
  public Response apply(String body, @QueryParam("namespace") String namespace) {
    try {
      var objects = ConfigParser.parse(body == null ? "" : body, ns(namespace));
      if (objects.isEmpty()) {
        return errors(List.of("no objects in the request"));
      }
      return Response.ok(result(store.apply(objects))).build();
    } catch (ConfigException e) {
      return errors(e.errors());
    }
  }

  @POST
  @Path("delete")
  @Consumes(MediaType.WILDCARD)
  public Response delete(String body, @QueryParam("namespace") String namespace) {
    try {
      List<ConfigKey> keys =
          ConfigParser.parse(body == null ? "" : body, ns(namespace)).stream()
              .map(ConfigObject::key)
              .toList();
      return Response.ok(result(store.delete(keys))).build();
    } catch (ConfigException e) {
      return errors(e.errors());
    }
  }

  @DELETE
  @Path("config/{kind}/{namespace}/{name}")
  public Response deleteOne(
      @PathParam("kind") String kind,
      @PathParam("namespace") String namespace,
      @PathParam("name") String name) {
    return withKind(
        kind,
        k -> Response.ok(result(store.delete(List.of(new ConfigKey(k, namespace, name))))).build());
  }

  @GET
  @Path("config")
  public Map<String, Object> listAll(@QueryParam("namespace") String namespace) {
    return items(store.list(Optional.empty(), Optional.ofNullable(namespace)));
  }

  @GET
  @Path("config/{kind}")
  public Response list(@PathParam("kind") String kind, @QueryParam("namespace") String namespace) {
    return withKind(
        kind,
        k ->
            Response.ok(items(store.list(Optional.of(k), Optional.ofNullable(namespace)))).build());
  }

  @GET
  @Path("config/{kind}/{namespace}/{name}")
  public Response get(
      @PathParam("kind") String kind,
      @PathParam("namespace") String namespace,
      @PathParam("name") String name) {
    return withKind(
        kind,
        k -> {
          ConfigKey key = new ConfigKey(k, namespace, name);
          return store
              .get(key)
              .map(o -> Response.ok(o.source()).build())
              .orElseGet(
                  () ->
                      Response.status(404)
                          .entity(Map.of("errors", List.of(key + " not found")))
                          .build());
        });
  }

  private String ns(String namespace) {
    return namespace == null || namespace.isBlank() ? defaultNamespace : namespace;
  }

  private static Map<String, Object> items(List<ConfigObject<HasMetadata>> objects) {
    return Map.of("items", objects.stream().map(ConfigObject::source).toList());
  }

  private static Map<String, Object> result(ConfigStore.Result r) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put(
        "results",
        r.changes().stream()
            .map(
                c ->
                    Map.of(
                        "kind",
                        c.key().kind().kindName(),
                        "group",
                        c.key().kind().group(),
                        "namespace",
                        c.key().namespace(),
                        "name",
                        c.key().name(),
                        "result",
                        c.action().name().toLowerCase()))
            .toList());
    out.put("warnings", r.warnings().stream().map(Finding::toString).toList());
    return out;
  }

  private Response errors(List<String> errors) {
    rejected.increment();
    return Response.status(400).entity(Map.of("errors", errors)).build();
  }

  /** Answers with {@code then} for a known kind name, or 404 naming the unknown one. */
  private static Response withKind(
      String kind, java.util.function.Function<ConfigKind, Response> then) {
    return ConfigKind.byName(kind).map(then).orElseGet(() -> unknownKind(kind));
  }

  private static Response unknownKind(String kind) {
    return Response.status(404)
        .entity(Map.of("errors", List.of("unknown kind '" + kind + "'")))
        .build();
  }
}
