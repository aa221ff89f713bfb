package io.qmesh.cli;

import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code qmesh down}: stops every component, apps first and pilot last; applied config stays. */
@Command(name = "down", description = "Stop every component of the mesh; applied config is kept.")
final class DownCommand extends MeshCommand {

  private static final List<String> ORDER = List.of("app", "sidecar", "gateway", "pilot");

  @Override
  public Integer call() {
    List<Component> all = state().components();
    if (all.isEmpty()) {
      out().println("qmesh is not running here");
      return 0;
    }
    stopInOrder(new Supervisor(home()), all);
    out().println("stopped " + all.size() + " components");
    return 0;
  }

  /** Apps first (they finish their requests through their sidecars), then proxies, then pilot. */
  static void stopInOrder(Supervisor supervisor, List<Component> all) {
    for (List<String> kinds : List.of(List.of("app"), List.of("sidecar", "gateway"))) {
      supervisor.stop(
          all.stream().filter(c -> kinds.contains(c.kind())).toList(), Duration.ofSeconds(10));
    }
    supervisor.stop(
        all.stream().filter(c -> !ORDER.subList(0, 3).contains(c.kind())).toList(),
        Duration.ofSeconds(10));
  }
}
