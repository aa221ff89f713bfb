package io.qmesh.cli;

import java.io.IOException;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code qmesh exec <workload> -- <command>}: runs a command as if inside the workload: its HTTP
 * traffic goes through the workload's sidecar, as {@code kubectl exec} into a pod with an injected
 * sidecar would.
 */
@Command(
    name = "exec",
    description =
        "Run a command as if inside a workload: its HTTP traffic goes out through the workload's"
            + " sidecar (e.g. qmesh exec ratings-v1 -- curl -sS productpage:9080/productpage).")
final class ExecCommand extends MeshCommand {

  @Parameters(index = "0", description = "The workload.")
  String workload;

  @Parameters(index = "1..*", arity = "1..*", paramLabel = "COMMAND", description = "After --.")
  List<String> command;

  @Override
  public Integer call() throws IOException, InterruptedException {
    Component sidecar =
        state().components().stream()
            .filter(c -> c.kind().equals("sidecar") && c.workload().equals(workload))
            .findFirst()
            .orElseThrow(
                () ->
                    new Failure(
                        "no workload '"
                            + workload
                            + "' with a sidecar here (`qmesh status` lists them)"));
    if (!sidecar.alive()) {
      throw new Failure(sidecar.name() + " is not running (`qmesh logs " + sidecar.name() + "`)");
    }
    ProcessBuilder b = new ProcessBuilder(command).inheritIO();
    b.environment().putAll(Launches.proxyEnv(sidecar.port("outbound")));
    b.environment().put("HOSTNAME", workload);
    try {
      return b.start().waitFor();
    } catch (IOException e) {
      throw new Failure("cannot run " + command.get(0) + ": " + e.getMessage(), e);
    }
  }
}
