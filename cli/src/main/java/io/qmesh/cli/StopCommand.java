package io.qmesh.cli;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code qmesh stop <workload>}: stops a workload's app, then its sidecar. */
@Command(name = "stop", description = "Stop one workload: its app and its sidecar.")
final class StopCommand extends MeshCommand {

  @Parameters(index = "0", description = "The workload (as `qmesh run --name` named it).")
  String workload;

  @Override
  public Integer call() {
    List<Component> mine =
        state().components().stream()
            .filter(c -> c.workload().equals(workload) && !c.kind().equals("pilot"))
            .toList();
    if (mine.isEmpty()) {
      throw new Failure("no workload '" + workload + "' here (`qmesh status` lists them)");
    }
    DownCommand.stopInOrder(new Supervisor(home()), mine);
    out().println("stopped " + workload);
    return 0;
  }
}
