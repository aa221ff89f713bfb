package io.qmesh.testing;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * qmesh's packaged components run as processes on 127.0.0.1 for integration tests: pilot, sidecars,
 * gateways, and small apps standing in for workloads. Logs go to {@code target/it-logs}; {@link
 * #close()} stops everything, whatever the tests did.
 */
public final class LocalMesh implements AutoCloseable {

  private final Path root;
  private final Path logs = Path.of("target", "it-logs");
  private final List<Process> processes = new ArrayList<>();

  /** The latest process started under each name. */
  private final Map<String, Process> byName = new java.util.concurrent.ConcurrentHashMap<>();

  private final List<HttpServer> apps = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private int pilotHttp;
  private int pilotXds;
  private int pilotCa;
  private Path pilotState;

  /**
   * @param root the repository root (the modules' parent)
   */
  private final List<java.net.ServerSocket> tcpApps =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  public LocalMesh(Path root) throws IOException {
    this.root = root.toAbsolutePath().normalize();
    Files.createDirectories(logs);
  }

  /** Starts pilot with an empty store and waits for its API. */
  public void startPilot() throws Exception {
    pilotHttp = freePort();
    pilotXds = freePort();
    pilotCa = freePort();
    pilotState = Files.createTempDirectory("local-mesh-");
    runPilot();
  }

  /** Stops pilot (the proxies keep running on what they have). */
  public void stopPilot() throws InterruptedException {
    Process pilot = byName.get("pilot");
    pilot.destroy();
    if (!pilot.waitFor(10, TimeUnit.SECONDS)) {
      pilot.destroyForcibly();
    }
  }

  /** Starts pilot again on the same ports and state, and waits for its API. */
  public void restartPilot() throws Exception {
    runPilot();
  }

  private void runPilot() throws Exception {
    start(
        "pilot",
        "pilot",
        Map.of(
            "PILOT_CA_PORT",
            String.valueOf(pilotCa),
            "QUARKUS_HTTP_PORT",
            String.valueOf(pilotHttp),
            "QUARKUS_HTTP_HOST",
            "127.0.0.1",
            "PILOT_XDS_PORT",
            String.valueOf(pilotXds),
            "QMESH_PILOT_XDS_HOST",
            "127.0.0.1",
            "QMESH_STATE_DIR",
            pilotState.toString()));
    waitFor(() -> get(pilotHttp, "/apis/config/namespaces").statusCode() == 200);
  }

  /** Pilot's xDS address for proxies. */
  public String pilotXds() {
    return "127.0.0.1:" + pilotXds;
  }

  public int pilotHttp() {
    return pilotHttp;
  }

  /** Applies YAML through pilot's API; fails the test when pilot refuses it. */
  public void apply(String yaml) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pilotHttp + "/apis/config"))
                .POST(HttpRequest.BodyPublishers.ofString(yaml))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new AssertionError("pilot refused the config: " + r.body());
    }
  }

  /**
   * Starts the packaged app of {@code module} with the environment given; returns its admin port.
   */
  public int start(String name, String module, Map<String, String> env) throws IOException {
    Path jar = root.resolve(module).resolve("target/quarkus-app/quarkus-run.jar");
    if (!Files.exists(jar)) {
      throw new AssertionError("not packaged: " + jar);
    }
    int admin = freePort();
    Map<String, String> all = new HashMap<>(env);
    all.putIfAbsent("QMESH_ADMIN_PORT", String.valueOf(admin));
    // Readiness ports (Istio's 15021) would collide between proxies on one machine.
    all.putIfAbsent("QMESH_SIDECAR_HEALTH_PORT", String.valueOf(freePort()));
    all.putIfAbsent("QMESH_SIDECAR_PROMETHEUS_PORT", String.valueOf(freePort()));
    all.putIfAbsent("QMESH_SIDECAR_MERGED_PROMETHEUS_PORT", String.valueOf(freePort()));
    all.putIfAbsent("QMESH_GATEWAY_HEALTH_PORT", String.valueOf(freePort()));
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder b =
        // Many JVMs share two cores here: start them light (C1 only, serial GC, small heaps).
        new ProcessBuilder(
                java,
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-Xmx256m",
                "-jar",
                jar.toString())
            .redirectErrorStream(true)
            // A restarted component (pilot) appends to its log, so the run before stays readable.
            .redirectOutput(
                !byName.containsKey(name)
                    ? ProcessBuilder.Redirect.to(logs.resolve(name + ".log").toFile())
                    : ProcessBuilder.Redirect.appendTo(logs.resolve(name + ".log").toFile()));
    b.environment().putAll(all);
    Process p = b.start();
    processes.add(p);
    byName.put(name, p);
    return Integer.parseInt(all.get("QMESH_ADMIN_PORT"));
  }

  /**
   * A sidecar's environment in the laptop form.
   *
   * @param inbound {@code targetPort:listenPort:appPort}, or null for a client-only sidecar
   */
  public Map<String, String> sidecarEnv(
      String workload, String labels, String serviceAccount, String inbound, int outboundPort) {
    Map<String, String> env = new HashMap<>();
    env.put("QMESH_SIDECAR_PILOT", pilotXds());
    env.put("QMESH_SIDECAR_CA", "127.0.0.1:" + pilotCa);
    env.put(
        "QMESH_SIDECAR_CA_ROOT",
        pilotState.resolve("ca/istio-ca-root-cert/root-cert.pem").toString());
    env.put("QMESH_SIDECAR_CA_TOKEN", credential("default", serviceAccount).toString());
    env.put("QMESH_SIDECAR_WORKLOAD", workload);
    env.put("QMESH_SIDECAR_LABELS", labels);
    env.put("QMESH_SIDECAR_SERVICE_ACCOUNT", serviceAccount);
    env.put("QMESH_SIDECAR_INBOUND_HOST", "127.0.0.1");
    env.put("QMESH_SIDECAR_OUTBOUND_PORT", String.valueOf(outboundPort));
    if (inbound != null) {
      env.put("QMESH_SIDECAR_INBOUND", inbound);
    }
    return env;
  }

  /**
   * A bootstrap credential for {@code namespace/serviceAccount}, signed with pilot's token key, in
   * a file only the owner reads (what {@code qmesh up} gives each workload).
   */
  public Path credential(String namespace, String serviceAccount) {
    Path file = pilotState.resolve("tokens").resolve(namespace + "." + serviceAccount + ".jwt");
    try {
      String token =
          new io.qmesh.ca.BootstrapTokens(
                  io.qmesh.ca.BootstrapTokens.loadOrCreateKey(pilotState.resolve("ca/token-key")),
                  java.time.Clock.systemUTC())
              .issue(namespace, serviceAccount, Duration.ofDays(1));
      io.qmesh.ca.SecureFiles.write(file, token, true);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  /** Pilot's CA port (istiod's 15012). */
  public int pilotCa() {
    return pilotCa;
  }

  /** Pilot's state directory (the CA's files are under {@code ca/}). */
  public Path pilotState() {
    return pilotState;
  }

  /** Waits until a proxy's admin endpoint says it is ready. */
  public void awaitReady(int adminPort) throws Exception {
    waitFor(() -> get(adminPort, "/ready").statusCode() == 200);
  }

  /** An app standing in for a workload: answers with its name and what it saw. Returns its port. */
  public int app(String name) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext(
        "/",
        ex -> {
          byte[] body =
              (name
                      + " "
                      + ex.getRequestMethod()
                      + " "
                      + ex.getRequestURI()
                      + " host="
                      + ex.getRequestHeaders().getFirst("host")
                      + " end-user="
                      + ex.getRequestHeaders().getFirst("end-user"))
                  .getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(200, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    s.start();
    apps.add(s);
    return s.getAddress().getPort();
  }

  /**
   * A TCP app standing in for a workload: answers each line it reads with its name and the line.
   * Returns its port.
   */
  public int tcpApp(String name) throws IOException {
    java.net.ServerSocket server =
        new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    tcpApps.add(server);
    Thread accept =
        new Thread(
            () -> {
              while (!server.isClosed()) {
                try {
                  java.net.Socket s = server.accept();
                  Thread t =
                      new Thread(
                          () -> {
                            try (s;
                                var in =
                                    new java.io.BufferedReader(
                                        new java.io.InputStreamReader(
                                            s.getInputStream(), StandardCharsets.UTF_8))) {
                              var out = s.getOutputStream();
                              for (String line; (line = in.readLine()) != null; ) {
                                out.write(
                                    (name + " " + line + "\n").getBytes(StandardCharsets.UTF_8));
                                out.flush();
                              }
                            } catch (IOException e) {
                              // the peer went away
                            }
                          },
                          name + "-conn");
                  t.setDaemon(true);
                  t.start();
                } catch (IOException e) {
                  return;
                }
              }
            },
            name + "-accept");
    accept.setDaemon(true);
    accept.start();
    return server.getLocalPort();
  }

  public HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Polls a condition for up to 60 s (exceptions count as not yet). */
  public static void waitFor(Check check) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    Exception last = null;
    while (System.nanoTime() < deadline) {
      try {
        if (check.ok()) {
          return;
        }
      } catch (Exception e) {
        last = e;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("not ready after 60 s; see target/it-logs", last);
  }

  /** A condition to wait for. */
  @FunctionalInterface
  public interface Check {
    boolean ok() throws Exception;
  }

  public static int freePort() {
    // The kernel may hand the same free port out twice in a row (it was closed in between): a
    // port is given once per test JVM, so that two components never get the same one.
    while (true) {
      try (ServerSocket s = new ServerSocket(0)) {
        if (HANDED_OUT.add(s.getLocalPort())) {
          return s.getLocalPort();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private static final java.util.Set<Integer> HANDED_OUT =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * The classes the component started as {@code name} has loaded, one name per line ({@code jcmd
   * VM.class_hierarchy}, by the JDK that runs the tests).
   */
  public List<String> loadedClasses(String name) throws Exception {
    Process p = byName.get(name);
    if (p == null || !p.isAlive()) {
      throw new AssertionError(name + " is not running");
    }
    Path jcmd =
        Path.of(ProcessHandle.current().info().command().orElseThrow()).resolveSibling("jcmd");
    if (!Files.isExecutable(jcmd)) {
      throw new AssertionError("no jcmd beside the test's java: " + jcmd);
    }
    Process c =
        new ProcessBuilder(jcmd.toString(), String.valueOf(p.pid()), "VM.class_hierarchy")
            .redirectErrorStream(true)
            .start();
    List<String> out = new ArrayList<>();
    try (var r = c.inputReader()) {
      r.lines().map(l -> l.replaceFirst("^[\\s|-]*", "").split("/", 2)[0]).forEach(out::add);
    }
    if (!c.waitFor(30, TimeUnit.SECONDS) || c.exitValue() != 0) {
      throw new AssertionError("jcmd failed on " + name + ": " + out);
    }
    return out;
  }

  /**
   * Asserts that the proxy started as {@code name} runs its Vert.x on Netty's epoll transport (what
   * its packaging and {@code quarkus.vertx.prefer-native-transport} ask for), not on Java NIO's
   * selector.
   */
  public void assertEpollTransport(String name) throws Exception {
    List<String> classes = loadedClasses(name);
    if (!classes.contains("io.netty.channel.epoll.EpollEventLoop")
        || classes.contains("io.netty.channel.nio.NioEventLoop")) {
      throw new AssertionError(
          name
              + " does not run on Netty's epoll transport; its event loop classes: "
              + classes.stream().filter(c -> c.endsWith("EventLoop")).toList());
    }
  }

  @Override
  public void close() throws InterruptedException {
    for (java.net.ServerSocket s : tcpApps) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    processes.forEach(Process::destroy);
    for (Process p : processes) {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
    apps.forEach(s -> s.stop(0));
  }
}
