package io.qmesh.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qmesh status}: every component, its kind, pid, state and ports. */
@Command(name = "status", description = "Show every component: name, kind, pid, state, ports.")
final class StatusCommand extends MeshCommand {

  @Option(
      names = {"-o", "--output"},
      description = "table (default) or json")
  String output = "table";

  @Override
  public Integer call() throws Exception {
    List<Component> all = state().components();
    if (output.equals("json")) {
      ArrayNode arr = PilotClient.JSON.createArrayNode();
      for (Component c : all) {
        ObjectNode o = arr.addObject();
        o.put("name", c.name());
        o.put("kind", c.kind());
        o.put("workload", c.workload());
        o.put("pid", c.pid());
        o.put("state", stateOf(c));
        o.set("ports", PilotClient.JSON.valueToTree(c.ports()));
        o.put("log", home().log(c.name()).toString());
      }
      out().println(PilotClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(arr));
      out().flush();
      return 0;
    }
    if (!output.equals("table")) {
      throw new Failure("--output: '" + output + "' is not one of table, json");
    }
    if (all.isEmpty()) {
      out().println("qmesh is not running here (" + home().state() + ")");
      out().flush();
      return 0;
    }
    table(all, true).print(out());
    return 0;
  }

  /** The components as a table; with their live state when {@code probe}. */
  static Table table(List<Component> all, boolean probe) {
    Table t = new Table("NAME", "KIND", "PID", "STATE", "PORTS");
    for (Component c : all) {
      t.row(
          c.name(),
          c.kind(),
          c.pid(),
          probe ? stateOf(c) : "ready",
          c.ports().entrySet().stream()
              .map(e -> e.getKey() + "=" + e.getValue())
              .collect(Collectors.joining(" ")));
    }
    return t;
  }

  /** {@code ready}, {@code running} (not ready) or {@code exited}. */
  static String stateOf(Component c) {
    if (!c.alive()) {
      return "exited";
    }
    return Supervisor.ready(c.ready()) ? "ready" : "running";
  }
}
