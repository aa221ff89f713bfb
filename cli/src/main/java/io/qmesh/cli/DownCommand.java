package io.qmesh.cli;

import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code qmesh down}: stops every component, apps first and pilot last; applied config stays. */
@Command(name = "down", description = "Stop every component of the mesh; applied config is kept.")
final class DownCommand extends MeshCommand {

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

  /**
   * Apps first (they finish their requests through their sidecars), then proxies, then pilot, then
   * the addons (Prometheus, Zipkin), which see the rest to the end.
   */
  static void stopInOrder(Supervisor supervisor, List<Component> all) {
    Duration grace = Duration.ofSeconds(10);
    supervisor.stop(ofKind(all, "app"), grace);
    supervisor.stop(ofKind(all, "sidecar", "gateway"), grace);
    supervisor.stop(ofKind(all, "pilot"), grace);
    supervisor.stop(ofKind(all, "addon"), grace);
  }

  private static List<Component> ofKind(List<Component> all, String... kinds) {
    List<String> wanted = List.of(kinds);
    return all.stream().filter(c -> wanted.contains(c.kind())).toList();
  }
}
