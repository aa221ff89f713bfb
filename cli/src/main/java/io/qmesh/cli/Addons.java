package io.qmesh.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The observability addons of the laptop mode, started by {@code qmesh up} when they are here:
 * Prometheus (the {@code prometheus} binary on PATH, as Debian's and Homebrew's packages install
 * it, or {@code QMESH_PROMETHEUS}) with {@code addons/prometheus/prometheus-local.yml} and targets
 * written for the mesh's processes; Zipkin (the {@code io.zipkin:zipkin-server} exec jar from the
 * local Maven repository, or {@code QMESH_ZIPKIN_JAR}).
 */
final class Addons {

  static final int PROMETHEUS_PORT = 9090;
  static final int ZIPKIN_PORT = 9411;

  /** The zipkin-server version the hint names (e2e/pom.xml fetches the same). */
  static final String ZIPKIN_VERSION = "3.5.1";

  /** How to fetch Zipkin when it is missing. */
  static final String ZIPKIN_FETCH =
      "./mvnw dependency:get -Dartifact=io.zipkin:zipkin-server:"
          + ZIPKIN_VERSION
          + ":jar:exec -Dtransitive=false";

  private final Home home;

  Addons(Home home) {
    this.home = home;
  }

  /** The Prometheus binary, if there is one. */
  Optional<Path> prometheus() {
    String env = System.getenv("QMESH_PROMETHEUS");
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
    }
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
      Path p = Path.of(dir, "prometheus");
      if (Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** Zipkin's exec jar: {@code QMESH_ZIPKIN_JAR}, else the newest in the local Maven repository. */
  Optional<Path> zipkin() {
    String env = System.getenv("QMESH_ZIPKIN_JAR");
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }
    Path repo =
        Path.of(
            System.getProperty(
                "maven.repo.local", System.getProperty("user.home") + "/.m2/repository"),
            "io/zipkin/zipkin-server");
    if (!Files.isDirectory(repo)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.walk(repo, 2)) {
      return files
          .filter(p -> p.getFileName().toString().matches("zipkin-server-.*-exec\\.jar"))
          .max(Comparator.comparing(p -> p.getFileName().toString()));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  Path prometheusDir() {
    return home.state().resolve("prometheus");
  }

  /**
   * Prometheus on 127.0.0.1:9090 with qmesh's scrape config, its data under the state directory.
   */
  Launch prometheusLaunch(Path binary) throws IOException {
    Path dir = prometheusDir();
    Files.createDirectories(dir.resolve("targets"));
    Path config = dir.resolve("prometheus.yml");
    Files.copy(
        home.root().resolve("addons/prometheus/prometheus-local.yml"),
        config,
        StandardCopyOption.REPLACE_EXISTING);
    Map<String, Integer> ports = new LinkedHashMap<>();
    ports.put("http", PROMETHEUS_PORT);
    return new Launch(
        "prometheus",
        "addon",
        "prometheus",
        List.of(
            binary.toString(),
            "--config.file=" + config,
            "--storage.tsdb.path=" + dir.resolve("data"),
            "--web.listen-address=127.0.0.1:" + PROMETHEUS_PORT,
            "--storage.tsdb.retention.time=2h"),
        Map.of(),
        ports,
        List.of(PROMETHEUS_PORT),
        "http://127.0.0.1:" + PROMETHEUS_PORT + "/-/ready");
  }

  /** Zipkin on 127.0.0.1:9411, spans in memory. */
  Launch zipkinLaunch(Path jar) {
    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(System.getProperty("java.home") + "/bin/java");
    Map<String, String> env = new HashMap<>();
    env.put("QUERY_PORT", String.valueOf(ZIPKIN_PORT));
    env.put("STORAGE_TYPE", "mem");
    return new Launch(
        "zipkin",
        "addon",
        "zipkin",
        List.of(
            java,
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Xmx256m",
            "-jar",
            jar.toString()),
        env,
        Map.of("http", ZIPKIN_PORT),
        List.of(ZIPKIN_PORT),
        "http://127.0.0.1:" + ZIPKIN_PORT + "/health");
  }

  /**
   * Writes Prometheus' file-based targets: every proxy's merged metrics port (labels as Istio's
   * kubernetes-pods job gives them: the workload's labels, namespace, pod) and pilot's monitoring
   * port (labelled app=istiod, as Istio's control plane dashboards select it).
   */
  void writeTargets(List<Launch> proxies) throws IOException {
    Path dir = prometheusDir().resolve("targets");
    Files.createDirectories(dir);
    ArrayNode targets = PilotClient.JSON.createArrayNode();
    for (Launch l : proxies) {
      Integer port = l.ports().get("stats");
      if (port == null) {
        continue;
      }
      ObjectNode t = targets.addObject();
      t.putArray("targets").add("127.0.0.1:" + port);
      ObjectNode labels = t.putObject("labels");
      labelsOf(l).forEach(labels::put);
    }
    write(dir.resolve("proxies.json"), targets);
    ArrayNode control = PilotClient.JSON.createArrayNode();
    ObjectNode pilot = control.addObject();
    pilot.putArray("targets").add("127.0.0.1:" + Ports.PILOT_HTTP);
    pilot.putObject("labels").put("app", "istiod").put("namespace", "istio-system");
    write(dir.resolve("control-plane.json"), control);
  }

  private static Map<String, String> labelsOf(Launch l) {
    Map<String, String> out = new LinkedHashMap<>();
    String labels =
        l.env().getOrDefault("QMESH_SIDECAR_LABELS", l.env().get("QMESH_GATEWAY_LABELS"));
    if (labels != null) {
      for (String kv : labels.split(",")) {
        int eq = kv.indexOf('=');
        if (eq > 0) {
          out.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
      }
    }
    out.put(
        "namespace",
        l.env()
            .getOrDefault(
                "QMESH_SIDECAR_NAMESPACE",
                l.kind().equals("gateway") ? "istio-system" : "default"));
    out.put("pod", l.workload());
    return out;
  }

  private static void write(Path file, ArrayNode content) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(
        tmp, PilotClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(content));
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** What {@code qmesh up} says about an addon it could not start. */
  static List<String> missingNotes(boolean prometheus, boolean zipkin) {
    List<String> out = new ArrayList<>();
    if (!prometheus) {
      out.add(
          "Prometheus: not started (no `prometheus` on PATH; apt-get install prometheus, or set"
              + " QMESH_PROMETHEUS)");
    }
    if (!zipkin) {
      out.add(
          "Zipkin: not started (no zipkin-server exec jar; fetch it with `"
              + ZIPKIN_FETCH
              + "`, or set QMESH_ZIPKIN_JAR); traces are propagated, not reported");
    }
    return out;
  }
}
