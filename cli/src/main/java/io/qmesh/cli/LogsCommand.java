package io.qmesh.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code qmesh logs <component> [-f]}: a component's log from {@code .qmesh/logs/}. */
@Command(
    name = "logs",
    description =
        "Print a component's log (reviews-v1, reviews-v1-sidecar, pilot, ...); -c istio-proxy"
            + " selects a workload's sidecar, as kubectl does.")
final class LogsCommand extends MeshCommand {

  @Parameters(index = "0", description = "The component or workload.")
  String name;

  @Option(
      names = {"-f", "--follow"},
      description = "Keep printing what is written.")
  boolean follow;

  @Option(
      names = {"-c", "--container"},
      description = "istio-proxy: the workload's sidecar.")
  String container;

  @Option(names = "--tail", description = "Only the last N lines.")
  int tail = -1;

  @Override
  public Integer call() throws Exception {
    String component =
        "istio-proxy".equals(container) && !name.endsWith("-sidecar") ? name + "-sidecar" : name;
    Path log = home().log(component);
    if (!Files.exists(log)) {
      throw new Failure(
          "no log for '"
              + component
              + "' in "
              + home().logs()
              + " (`qmesh status` lists the components)");
    }
    if (tail >= 0) {
      Supervisor.lastLines(log, tail).forEach(out()::println);
      out().flush();
    }
    try (InputStream in = Files.newInputStream(log)) {
      if (tail >= 0) {
        in.skip(Files.size(log));
      }
      byte[] buf = new byte[8192];
      while (true) {
        int n = in.read(buf);
        if (n > 0) {
          out().print(new String(buf, 0, n, java.nio.charset.StandardCharsets.UTF_8));
          continue;
        }
        out().flush();
        if (!follow) {
          return 0;
        }
        Supervisor.sleep(200);
      }
    } catch (IOException e) {
      throw new Failure("cannot read " + log + ": " + e.getMessage(), e);
    }
  }
}
