package io.qmesh.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The packaged pilot, run as its own process so its heap and CPU are its own. */
final class PilotProcess implements AutoCloseable {

  private final Process process;
  final int httpPort;
  final int xdsPort;
  private final HttpClient http = HttpClient.newHttpClient();

  PilotProcess(Path jar, Path stateDir, Path log, String... jvmArgs) throws Exception {
    httpPort = freePort();
    xdsPort = freePort();
    String javaBin = ProcessHandle.current().info().command().orElse("java");
    var cmd = new java.util.ArrayList<String>();
    cmd.add(javaBin);
    cmd.addAll(java.util.List.of(jvmArgs));
    cmd.addAll(java.util.List.of("-jar", jar.toString()));
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("QMESH_STATE_DIR", stateDir.toString());
    pb.environment().put("PILOT_XDS_PORT", String.valueOf(xdsPort));
    // The CA's port is not measured here: any free one.
    pb.environment().put("PILOT_CA_PORT", "0");
    pb.environment().put("QUARKUS_HTTP_PORT", String.valueOf(httpPort));
    pb.environment().put("QUARKUS_HTTP_HOST", "127.0.0.1");
    pb.environment().put("QMESH_PILOT_XDS_HOST", "127.0.0.1");
    process = pb.start();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      try {
        if (get("/apis/config/namespaces").statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not up yet
      }
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "pilot did not start; see " + log + "\n" + Files.readString(log));
      }
      Thread.sleep(100);
    }
  }

  long pid() {
    return process.pid();
  }

  HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> apply(String yaml) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/apis/config"))
            .POST(HttpRequest.BodyPublishers.ofString(yaml))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Sends async-profiler a command in the running pilot ({@code jcmd JVMTI.agent_load}, as its own
   * launcher attaches), so that a profile covers only what the bench measures.
   */
  void profiler(String library, String command) throws Exception {
    Process p =
        // The options quoted: jcmd would read their '=' as arguments of its own.
        new ProcessBuilder(
                "jcmd", String.valueOf(pid()), "JVMTI.agent_load", library, '"' + command + '"')
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0 || !out.contains("return code: 0")) {
      throw new IllegalStateException("profiler command '" + command + "' failed: " + out);
    }
  }

  /** Heap in use after a full GC, in MiB (jcmd GC.run, then pilot's own metrics). */
  double heapAfterGcMiB() throws Exception {
    Process gc =
        new ProcessBuilder("jcmd", String.valueOf(pid()), "GC.run")
            .redirectErrorStream(true)
            .start();
    gc.getInputStream().readAllBytes();
    gc.waitFor();
    String metrics = get("/metrics").body();
    Matcher m =
        Pattern.compile("(?m)^jvm_memory_used_bytes\\{area=\"heap\"[^}]*} (\\S+)$")
            .matcher(metrics);
    double sum = 0;
    while (m.find()) {
      sum += Double.parseDouble(m.group(1));
    }
    return sum / (1024 * 1024);
  }

  /** CPU seconds the process has used (user + system), from /proc. */
  double cpuSeconds() throws IOException {
    String stat = Files.readString(Path.of("/proc", String.valueOf(pid()), "stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
  }

  /** Resident set size in MiB, from /proc. */
  double rssMiB() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid()), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
      }
    }
    return -1;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    process.waitFor();
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
