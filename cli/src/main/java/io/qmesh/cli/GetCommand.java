package io.qmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code qmesh get KIND [NAME]}: what pilot holds, as a table, YAML or JSON. */
@Command(
    name = "get",
    description =
        "List config of a kind (virtualservices, destinationrules, gateways, services, ...), or"
            + " show one object.")
final class GetCommand extends MeshCommand {

  private static final ObjectMapper YAML =
      new ObjectMapper(
          new YAMLFactory()
              .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
              .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

  @Parameters(index = "0", description = "The kind, singular or plural.")
  String kind;

  @Parameters(index = "1", arity = "0..1", description = "The object's name.")
  String name;

  @Option(
      names = {"-n", "--namespace"},
      description = "Namespace (default: default).")
  String namespace;

  @Option(
      names = {"-A", "--all-namespaces"},
      description = "Every namespace.")
  boolean all;

  @Option(
      names = {"-o", "--output"},
      description = "table (default), yaml or json")
  String output = "table";

  @Override
  public Integer call() throws Exception {
    if (!List.of("table", "yaml", "json").contains(output)) {
      throw new Failure("--output: '" + output + "' is not one of table, yaml, json");
    }
    PilotClient pilot = PilotClient.local();
    String ns = namespace == null ? "default" : namespace;
    String k = PilotClient.enc(kind);
    List<JsonNode> items = new ArrayList<>();
    if (name != null) {
      PilotClient.Answer a =
          pilot.get("/apis/config/" + k + "/" + PilotClient.enc(ns) + "/" + PilotClient.enc(name));
      if (!a.ok()) {
        throw new Failure(PilotClient.errors(a));
      }
      items.add(a.body());
    } else {
      PilotClient.Answer a =
          pilot.get("/apis/config/" + k + (all ? "" : "?namespace=" + PilotClient.enc(ns)));
      if (!a.ok()) {
        throw new Failure(PilotClient.errors(a));
      }
      a.body().path("items").forEach(items::add);
    }
    switch (output) {
      case "json" ->
          out()
              .println(
                  PilotClient.JSON
                      .writerWithDefaultPrettyPrinter()
                      .writeValueAsString(name != null ? items.get(0) : list(items)));
      case "yaml" -> {
        for (int i = 0; i < items.size(); i++) {
          if (i > 0) {
            out().println("---");
          }
          out().print(YAML.writeValueAsString(items.get(i)));
        }
      }
      default -> {
        if (items.isEmpty()) {
          err().println("No resources found" + (all ? "" : " in " + ns + " namespace") + ".");
          err().flush();
          return 0;
        }
        table(items).print(out());
      }
    }
    out().flush();
    return 0;
  }

  private static JsonNode list(List<JsonNode> items) {
    var o = PilotClient.JSON.createObjectNode();
    o.put("apiVersion", "v1");
    o.put("kind", "List");
    o.putArray("items").addAll(items);
    return o;
  }

  /** kubectl's columns for the kinds Istio's CRDs print columns for. */
  private Table table(List<JsonNode> items) {
    String kindName = items.get(0).path("kind").asText().toLowerCase(Locale.ROOT);
    List<String> headers = new ArrayList<>();
    if (all) {
      headers.add("NAMESPACE");
    }
    headers.add("NAME");
    switch (kindName) {
      case "virtualservice" -> headers.addAll(List.of("GATEWAYS", "HOSTS"));
      case "destinationrule" -> headers.add("HOST");
      case "service" -> headers.addAll(List.of("SELECTOR", "PORTS"));
      case "serviceentry" -> headers.addAll(List.of("HOSTS", "LOCATION", "RESOLUTION"));
      default -> {}
    }
    Table t = new Table(headers.toArray(String[]::new));
    for (JsonNode i : items) {
      List<Object> row = new ArrayList<>();
      if (all) {
        row.add(i.path("metadata").path("namespace").asText());
      }
      row.add(i.path("metadata").path("name").asText());
      JsonNode spec = i.path("spec");
      switch (kindName) {
        case "virtualservice" -> {
          row.add(join(spec.path("gateways")));
          row.add(join(spec.path("hosts")));
        }
        case "destinationrule" -> row.add(spec.path("host").asText());
        case "service" -> {
          List<String> sel = new ArrayList<>();
          spec.path("selector")
              .fields()
              .forEachRemaining(e -> sel.add(e.getKey() + "=" + e.getValue().asText()));
          row.add(String.join(",", sel));
          List<String> ports = new ArrayList<>();
          spec.path("ports")
              .forEach(
                  p -> ports.add(p.path("port").asText() + "/" + p.path("protocol").asText("TCP")));
          row.add(String.join(",", ports));
        }
        case "serviceentry" -> {
          row.add(join(spec.path("hosts")));
          row.add(spec.path("location").asText("MESH_EXTERNAL"));
          row.add(spec.path("resolution").asText("NONE"));
        }
        default -> {}
      }
      t.row(row.toArray());
    }
    return t;
  }

  private static String join(JsonNode arr) {
    List<String> out = new ArrayList<>();
    arr.forEach(n -> out.add(n.asText()));
    return "[" + String.join(",", out) + "]";
  }
}
