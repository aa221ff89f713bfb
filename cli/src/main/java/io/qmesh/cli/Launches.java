package io.qmesh.cli;

import com.sun.management.HotSpotDiagnosticMXBean;
import io.qmesh.ca.BootstrapTokens;
import io.qmesh.ca.SecureFiles;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How each kind of component is started in the laptop mode: pilot on Istio's ports with its state
 * under {@code .qmesh/}, gateways and sidecars connected to it, and apps with their sidecar as
 * their HTTP proxy.
 */
final class Launches {

  /**
   * Fifteen JVMs share a laptop's cores and memory: start them light (C1 only, serial GC) and keep
   * their heaps as small as their live data (a small initial heap that grows on demand and gives
   * memory back): this takes a sidecar from about 154 MB of RSS to about 114 MB. QMESH_JAVA_OPTS
   * replaces these, and the per-component maximum heap.
   */
  private static final String JAVA_OPTS =
      "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -Xms8m -XX:MinHeapFreeRatio=10"
          + " -XX:MaxHeapFreeRatio=30 -XX:ReservedCodeCacheSize=32m"
          + (trimsNativeHeap()
              ? " -XX:+UnlockExperimentalVMOptions -XX:TrimNativeHeapInterval=5000"
              : "");

  /**
   * The C library's side of a JVM's memory: glibc gives each thread that allocates an arena of its
   * own and keeps what the JIT compilers free. Two arenas, and (where the JVM can) a trim of the
   * native heap every 5 s, took a sidecar under load from 225 MB of RSS to about 190 MB in the data
   * plane's benchmark. Set for every JVM this starts, unless the caller's environment sets it.
   */
  static final Map<String, String> JVM_ENV =
      Map.of("MALLOC_ARENA_MAX", System.getenv().getOrDefault("MALLOC_ARENA_MAX", "2"));

  /**
   * Whether this JVM (the one the children run on: {@link #java}) has {@code
   * TrimNativeHeapInterval}: JDK 25 and recent 17 updates (17.0.15 here) do; a JVM that does not
   * know an option refuses to start.
   */
  static boolean trimsNativeHeap() {
    try {
      ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
          .getVMOption("TrimNativeHeapInterval");
      return true;
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      return false;
    }
  }

  /**
   * How long a workload credential lets its proxy renew its certificate: a laptop mesh's lifetime
   * (Kubernetes rotates projected tokens hourly; nothing rotates them here).
   */
  static final Duration CREDENTIAL_TTL = Duration.ofDays(30);

  private final Home home;

  /**
   * Whether proxies get an identity (pilot's CA, the root, a credential) and so talk mutual TLS, as
   * Istio's auto mTLS does by default; {@code QMESH_MTLS=off} runs the mesh in plaintext.
   */
  private final boolean mtls;

  Launches(Home home) {
    this(home, !"off".equalsIgnoreCase(System.getenv("QMESH_MTLS")));
  }

  Launches(Home home, boolean mtls) {
    this.home = home;
    this.mtls = mtls;
  }

  static String pilotXds() {
    return "127.0.0.1:" + Ports.PILOT_XDS;
  }

  /** Pilot with no tracing backend: traces are propagated, not reported. */
  Launch pilot() {
    return pilot(false);
  }

  /**
   * Pilot with Istio's demo profile mesh config: every request traced (to the local Zipkin when
   * {@code zipkin}, else only propagated) and access logs on each proxy's stdout (its log file).
   */
  Launch pilot(boolean zipkin) {
    Map<String, String> env = new HashMap<>();
    env.put("QMESH_MESH_TRACE_SAMPLING", "100");
    env.put("QMESH_MESH_ACCESS_LOG_FILE", "/dev/stdout");
    if (zipkin) {
      env.put("QMESH_MESH_ZIPKIN_ADDRESS", "127.0.0.1:" + Addons.ZIPKIN_PORT);
    } else {
      env.put("QMESH_MESH_TRACING_PROVIDER", "none");
    }
    env.put("QUARKUS_HTTP_PORT", String.valueOf(Ports.PILOT_HTTP));
    env.put("QUARKUS_HTTP_HOST", "127.0.0.1");
    env.put("PILOT_XDS_PORT", String.valueOf(Ports.PILOT_XDS));
    env.put("PILOT_CA_PORT", String.valueOf(Ports.PILOT_CA));
    env.put("QMESH_PILOT_XDS_HOST", "127.0.0.1");
    env.put("QMESH_STATE_DIR", home.state().toString());
    env.putAll(JVM_ENV);
    Map<String, Integer> ports = new LinkedHashMap<>();
    ports.put("xds", Ports.PILOT_XDS);
    ports.put("ca", Ports.PILOT_CA);
    ports.put("http", Ports.PILOT_HTTP);
    return new Launch(
        "pilot",
        "pilot",
        "pilot",
        java("pilot", "256m"),
        env,
        ports,
        List.of(Ports.PILOT_XDS, Ports.PILOT_CA, Ports.PILOT_HTTP),
        "http://127.0.0.1:" + Ports.PILOT_HTTP + "/apis/config/namespaces");
  }

  /**
   * A gateway: the ingress-gateway or egress-gateway app (one engine, as Istio runs both gateways
   * from one proxy image), with its name and labels.
   */
  Launch gateway(String module, String name, String labels, int block, List<Integer> listeners) {
    int admin = Ports.block(block) + Ports.ADMIN;
    Map<String, String> env = new HashMap<>();
    env.put("QMESH_GATEWAY_PILOT", pilotXds());
    env.put("QMESH_GATEWAY_WORKLOAD", name);
    env.put("QMESH_GATEWAY_LABELS", labels);
    env.put("QMESH_GATEWAY_SERVICE_ACCOUNT", name + "-service-account");
    identity("QMESH_GATEWAY_", name, "istio-system", name + "-service-account", env);
    env.put("QMESH_GATEWAY_LISTEN_HOST", "127.0.0.1");
    env.put("QMESH_ADMIN_PORT", String.valueOf(admin));
    int health = Ports.block(block) + Ports.HEALTH;
    env.put("QMESH_GATEWAY_HEALTH_PORT", String.valueOf(health));
    int merged = Ports.block(block) + Ports.MERGED_STATS;
    int prometheus = Ports.block(block) + Ports.PROXY_STATS;
    env.put("QMESH_GATEWAY_MERGED_PROMETHEUS_PORT", String.valueOf(merged));
    env.put("QMESH_GATEWAY_PROMETHEUS_PORT", String.valueOf(prometheus));
    env.putAll(JVM_ENV);
    Map<String, Integer> ports = new LinkedHashMap<>();
    ports.put("admin", admin);
    ports.put("health", health);
    ports.put("stats", merged);
    ports.put("prometheus", prometheus);
    List<Integer> binds = new ArrayList<>(List.of(admin, health, merged, prometheus));
    for (int l : listeners) {
      ports.put("http." + l, l);
      binds.add(l);
    }
    return new Launch(
        name,
        "gateway",
        name,
        java(module, "128m"),
        env,
        ports,
        binds,
        "http://127.0.0.1:" + admin + "/ready");
  }

  /** A workload's sidecar: the workload's mesh address for {@code servicePort}, and its proxy. */
  Launch sidecar(Workload w) {
    int base = Ports.block(w.block());
    int admin = base + Ports.ADMIN;
    int outbound = base + Ports.OUTBOUND;
    int inbound = base + Ports.INBOUND;
    Map<String, String> env = new HashMap<>();
    env.put("QMESH_SIDECAR_PILOT", pilotXds());
    env.put("QMESH_SIDECAR_WORKLOAD", w.name());
    env.put("QMESH_SIDECAR_NAMESPACE", w.namespace());
    env.put("QMESH_SIDECAR_LABELS", "app=" + w.app() + ",version=" + w.version());
    env.put("QMESH_SIDECAR_SERVICE_ACCOUNT", w.serviceAccount());
    identity("QMESH_SIDECAR_", w.name(), w.namespace(), w.serviceAccount(), env);
    env.put("QMESH_SIDECAR_INBOUND_HOST", "127.0.0.1");
    env.put("QMESH_SIDECAR_OUTBOUND_PORT", String.valueOf(outbound));
    env.put(
        "QMESH_SIDECAR_INBOUND",
        w.servicePort() + ":" + inbound + ":" + w.appPort() + (w.tcp() ? "/tcp" : ""));
    env.put("QMESH_ADMIN_PORT", String.valueOf(admin));
    int health = base + Ports.HEALTH;
    env.put("QMESH_SIDECAR_HEALTH_PORT", String.valueOf(health));
    int merged = base + Ports.MERGED_STATS;
    int prometheus = base + Ports.PROXY_STATS;
    env.put("QMESH_SIDECAR_MERGED_PROMETHEUS_PORT", String.valueOf(merged));
    env.put("QMESH_SIDECAR_PROMETHEUS_PORT", String.valueOf(prometheus));
    env.putAll(JVM_ENV);
    Map<String, Integer> ports = new LinkedHashMap<>();
    ports.put("admin", admin);
    ports.put("outbound", outbound);
    ports.put("health", health);
    ports.put("stats", merged);
    ports.put("prometheus", prometheus);
    ports.put("inbound", inbound);
    return new Launch(
        w.name() + "-sidecar",
        "sidecar",
        w.name(),
        java("sidecar", "128m"),
        env,
        ports,
        List.of(admin, outbound, health, merged, prometheus, inbound),
        "http://127.0.0.1:" + admin + "/ready");
  }

  /**
   * Where a proxy gets its certificate: pilot's CA on 15012, the mesh's root pilot publishes, and a
   * credential naming the workload's identity, issued now (Istio's projected service account token,
   * in the laptop mode).
   */
  private void identity(
      String prefix,
      String workload,
      String namespace,
      String serviceAccount,
      Map<String, String> env) {
    if (!mtls) {
      return;
    }
    env.put(prefix + "CA", "127.0.0.1:" + Ports.PILOT_CA);
    env.put(prefix + "CA_ROOT", rootCert().toString());
    env.put(prefix + "CA_TOKEN", credential(workload, namespace, serviceAccount).toString());
  }

  /** The mesh's root certificate, as pilot publishes it (Istio's {@code istio-ca-root-cert}). */
  Path rootCert() {
    return home.state().resolve("ca/istio-ca-root-cert/root-cert.pem");
  }

  /**
   * Issues a workload's bootstrap credential ({@link #token}) into {@code
   * <state>/tokens/<workload>/istio-token} (owner-only). Valid for {@link #CREDENTIAL_TTL}; each
   * {@code qmesh up}/{@code run} issues a fresh one.
   */
  Path credential(String workload, String namespace, String serviceAccount) {
    Path file = home.state().resolve("tokens").resolve(workload).resolve("istio-token");
    try {
      SecureFiles.write(file, token(home, namespace, serviceAccount, CREDENTIAL_TTL), true);
    } catch (IOException e) {
      throw new Failure(
          "cannot write " + workload + "'s credential " + file + ": " + e.getMessage());
    }
    return file;
  }

  /**
   * A bootstrap credential for {@code namespace/serviceAccount}, valid for {@code ttl}, signed with
   * the key pilot's CA checks them with ({@code <state>/ca/token-key}, made here when pilot has not
   * made it yet).
   */
  static String token(Home home, String namespace, String serviceAccount, Duration ttl) {
    return new BootstrapTokens(
            BootstrapTokens.loadOrCreateKey(home.state().resolve("ca/token-key")),
            Clock.systemUTC())
        .issue(namespace, serviceAccount, ttl);
  }

  /**
   * A workload's app: its command, with the environment that sends its outbound traffic through its
   * sidecar.
   */
  Launch app(Workload w, List<String> command, Map<String, String> extraEnv, String ready) {
    Map<String, String> env = new HashMap<>(proxyEnv(Ports.block(w.block()) + Ports.OUTBOUND));
    env.put("HOSTNAME", w.name());
    env.put("PORT", String.valueOf(w.appPort()));
    env.put("QMESH_WORKLOAD", w.name());
    env.putAll(extraEnv);
    Map<String, Integer> ports = new LinkedHashMap<>();
    ports.put("app", w.appPort());
    return new Launch(w.name(), "app", w.name(), command, env, ports, List.of(w.appPort()), ready);
  }

  /** A Bookinfo app, from its packaged jar, listening privately on the workload's app port. */
  Launch bookinfoApp(Workload w, Map<String, String> appEnv) {
    Map<String, String> env = new HashMap<>(JVM_ENV);
    env.putAll(appEnv);
    env.put("QUARKUS_HTTP_PORT", String.valueOf(w.appPort()));
    env.put("QUARKUS_HTTP_HOST", "127.0.0.1");
    return app(
        w, java("bookinfo/" + w.app(), "96m"), env, "http://127.0.0.1:" + w.appPort() + "/health");
  }

  /**
   * What sends a process' traffic through a sidecar's outbound port: the variables curl, Python, Go
   * and the JDK's clients (through Bookinfo's settings) read. HTTP goes as proxy requests; HTTPS,
   * gRPC (grpc-go reads HTTPS_PROXY, grpc-java GRPC_PROXY_EXP) and TCP as CONNECT tunnels, which
   * the sidecar routes like the rest.
   */
  static Map<String, String> proxyEnv(int outbound) {
    String proxy = "http://127.0.0.1:" + outbound;
    Map<String, String> env = new LinkedHashMap<>();
    env.put("HTTP_PROXY", proxy);
    env.put("http_proxy", proxy);
    env.put("HTTPS_PROXY", proxy);
    env.put("https_proxy", proxy);
    env.put("GRPC_PROXY_EXP", "127.0.0.1:" + outbound);
    env.put("NO_PROXY", "localhost,127.0.0.1,::1");
    env.put("no_proxy", "localhost,127.0.0.1,::1");
    return env;
  }

  private List<String> java(String module, String heap) {
    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(System.getProperty("java.home") + "/bin/java");
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    String opts = System.getenv("QMESH_JAVA_OPTS");
    for (String o : (opts == null ? JAVA_OPTS + " -Xmx" + heap : opts).trim().split("\\s+")) {
      if (!o.isEmpty()) {
        cmd.add(o);
      }
    }
    cmd.add("-jar");
    cmd.add(home.requireJar(module).toString());
    return cmd;
  }

  /**
   * A workload in the laptop mode: its identity, its block of ports, its app's port, and whether
   * that port is plain TCP.
   */
  record Workload(
      String name,
      String app,
      String version,
      String namespace,
      String serviceAccount,
      int block,
      int servicePort,
      int appPort,
      boolean tcp) {

    /** A workload whose app listens on its block's private app port. */
    static Workload inBlock(
        String name, String app, String version, String serviceAccount, int block, int port) {
      return new Workload(
          name,
          app,
          version,
          "default",
          serviceAccount,
          block,
          port,
          Ports.block(block) + Ports.APP,
          false);
    }
  }
}
