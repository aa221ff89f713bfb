package io.qmesh.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import picocli.CommandLine.Command;

/** {@code qmesh reset}: forgets everything under {@code .qmesh/}: applied config, logs, records. */
@Command(
    name = "reset",
    description =
        "Delete the state directory (.qmesh/: applied config, logs); the mesh must be down.")
final class ResetCommand extends MeshCommand {

  @Override
  public Integer call() throws IOException {
    if (!state().running().isEmpty()) {
      throw new Failure("qmesh is running here; `qmesh down` first");
    }
    Path dir = home().state();
    if (!Files.exists(dir)) {
      out().println("nothing to reset: " + dir + " does not exist");
      return 0;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
    out().println("removed " + dir);
    return 0;
  }
}
