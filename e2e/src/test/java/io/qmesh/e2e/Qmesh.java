package io.qmesh.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code ./qmesh} script at the repository's root, run as a user runs it, in a working
 * directory of the test's own (so its {@code .qmesh/} state is the test's).
 */
final class Qmesh {

  /** A finished command: its exit code and what it printed (stdout and stderr together). */
  record Result(int code, String output) {}

  private final Path root;
  private final Path workDir;

  Qmesh(Path root, Path workDir) {
    this.root = root;
    this.workDir = workDir;
  }

  Path workDir() {
    return workDir;
  }

  Result run(String... args) throws IOException, InterruptedException {
    return input(null, args);
  }

  /** Runs {@code ./qmesh args...} with {@code stdin} as its input; fails after 3 minutes. */
  Result input(String stdin, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(root.resolve("qmesh").toString());
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile(workDir, "qmesh-", ".out");
    ProcessBuilder b =
        new ProcessBuilder(cmd)
            .directory(workDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(out.toFile());
    b.environment().put("JAVA_HOME", System.getProperty("java.home"));
    b.environment().remove("QMESH_STATE_DIR");
    Process p = b.start();
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    if (!p.waitFor(3, TimeUnit.MINUTES)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError("qmesh " + String.join(" ", args) + " did not finish in 3 min");
    }
    String output = Files.readString(out);
    Files.delete(out);
    return new Result(p.exitValue(), output);
  }
}
