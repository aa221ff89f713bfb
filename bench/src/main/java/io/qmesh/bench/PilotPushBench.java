package io.qmesh.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.Predicate;

/**
 * Pilot's push benchmark: {@code services} services with {@code endpoints} endpoints each, and
 * {@code proxies} simulated sidecars on ADS. Reports the initial full push, then over several
 * rounds the time from an apply to the last proxy holding the change (a route change, then an
 * endpoint change) with pilot's CPU per push, and pilot's heap after a full GC and its RSS.
 *
 * <p>Usage: {@code PilotPushBench <pilot quarkus-run.jar> [services] [endpoints] [proxies]}; {@code
 * -Dbench.rounds=N} (default 7) after {@code -Dbench.warmup=N} (default 20), {@code
 * -Dbench.jfr=<file>} records pilot with JFR, {@code -Dbench.pilotJvm="..."} adds pilot JVM
 * options, {@code -Dbench.changes=route|endpoint} measures one of the two changes.
 */
public final class PilotPushBench {

  public static void main(String[] args) throws Exception {
    Path jar = Path.of(args[0]);
    int services = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    int endpoints = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    int proxies = args.length > 3 ? Integer.parseInt(args[3]) : 2000;
    int rounds = Integer.getInteger("bench.rounds", 7);
    Path work = Files.createTempDirectory("pilot-bench-");
    System.out.printf(
        "pilot push benchmark: %d services x %d endpoints, %d proxies, %d cores (work dir %s)%n",
        services, endpoints, proxies, Runtime.getRuntime().availableProcessors(), work);

    try (PilotProcess pilot =
        new PilotProcess(jar, work.resolve("state"), work.resolve("pilot.log"), jvmArgs())) {
      long t = System.nanoTime();
      var applied = pilot.apply(registry(services, endpoints));
      if (applied.statusCode() != 200) {
        throw new IllegalStateException("apply failed: " + applied.body());
      }
      line("apply of " + services * (1 + endpoints) + " objects", ms(t));

      List<String> eds = new ArrayList<>();
      for (int i = 0; i < services; i++) {
        eds.add("outbound|9080||svc-" + i + ".default.svc.cluster.local");
      }
      List<ManagedChannel> channels = new ArrayList<>();
      int perChannel = 20;
      for (int c = 0; c < (proxies + perChannel - 1) / perChannel; c++) {
        channels.add(
            NettyChannelBuilder.forAddress("127.0.0.1", pilot.xdsPort)
                .usePlaintext()
                .maxInboundMessageSize(64 << 20)
                // Envoy's HTTP/2 windows are far larger than grpc's 1 MiB default: a proxy fleet
                // does not throttle pushes the way a default grpc client would.
                .flowControlWindow(64 << 20)
                // The simulated proxies' callbacks only note a version and ACK: run on the
                // transport's thread, they take no hand-off to grpc's thread pool per response.
                .directExecutor()
                .build());
      }
      double cpu0 = pilot.cpuSeconds();
      t = System.nanoTime();
      List<FakeProxy> fleet = new ArrayList<>();
      for (int i = 0; i < proxies; i++) {
        String id =
            "sidecar~10.9."
                + (i / 250)
                + "."
                + (i % 250)
                + "~wl-"
                + i
                + ".default~default.svc.cluster.local";
        fleet.add(
            new FakeProxy(
                channels.get(i / perChannel),
                id,
                Map.of("app", "svc-" + (i % services), "version", "v1"),
                eds,
                List.of("9080"),
                DELTA));
      }
      awaitAll(fleet, FakeProxy::hasAll, 600);
      line(
          "initial push: connect " + proxies + " proxies to the last holding all four types",
          ms(t));
      line("  pilot CPU for it", (pilot.cpuSeconds() - cpu0) * 1000);

      measure(
          "route",
          pilot,
          fleet,
          FakeProxy.RDS,
          "route change (a VirtualService timeout)",
          rounds,
          r ->
              """
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: {name: svc-0}
          spec:
            hosts: [svc-0]
            http:
            - route:
              - destination: {host: svc-0}
              timeout: %ds
          """
                  .formatted(r + 1));
      measure(
          "endpoint",
          pilot,
          fleet,
          FakeProxy.EDS,
          "endpoint change (a WorkloadEntry added)",
          rounds,
          r ->
              """
          apiVersion: networking.istio.io/v1
          kind: WorkloadEntry
          metadata: {name: extra-%d}
          spec:
            address: 10.200.0.%d
            labels: {app: svc-1}
          """
                  .formatted(r, r + 1));

      System.out.printf(
          "pilot heap after full GC: %.0f MiB; RSS: %.0f MiB%n",
          pilot.heapAfterGcMiB(), pilot.rssMiB());
      fleet.forEach(FakeProxy::close);
      for (ManagedChannel ch : channels) {
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Rounds of each change run first and reported apart: a fresh pilot's first pushes of a kind run
   * in the interpreter and under C2 compilation, which a pilot that has been up for minutes does
   * not ({@code -Dbench.warmup=N}, default 20).
   */
  private static final int WARMUP = Integer.getInteger("bench.warmup", 20);

  /**
   * async-profiler's library ({@code -Dbench.profiler=/path/libasyncProfiler.so}): each change's
   * counted rounds are profiled in pilot (CPU, by thread), collapsed stacks in {@code
   * <tmpdir>/pilot-<change>.txt}.
   */
  private static final String PROFILER = System.getProperty("bench.profiler");

  /**
   * Whether the simulated proxies speak delta xDS, as qmesh's sidecars do by default ({@code
   * -Dbench.delta=false} for state of the world).
   */
  private static final boolean DELTA =
      Boolean.parseBoolean(System.getProperty("bench.delta", "true"));

  /**
   * This process: the simulated proxies share the machine's cores with pilot, so what they take of
   * a push is reported beside pilot's CPU.
   */
  private static final com.sun.management.OperatingSystemMXBean DRIVER =
      (com.sun.management.OperatingSystemMXBean)
          java.lang.management.ManagementFactory.getOperatingSystemMXBean();

  /** The changes measured ({@code -Dbench.changes=route,endpoint}, both by default). */
  private static final List<String> CHANGES =
      List.of(System.getProperty("bench.changes", "route,endpoint").split(","));

  /**
   * Applies {@code rounds} changes one after another (after {@link #WARMUP} rounds not counted) and
   * reports the median and worst time from the apply to the last proxy holding the change, and
   * pilot's CPU per push.
   */
  private static void measure(
      String kind,
      PilotProcess pilot,
      List<FakeProxy> fleet,
      String type,
      String what,
      int rounds,
      IntFunction<String> change)
      throws Exception {
    if (!CHANGES.contains(kind)) {
      return;
    }
    List<Long> times = new ArrayList<>();
    List<Long> cold = new ArrayList<>();
    double cpu = 0;
    double driverCpu = 0;
    for (int r = 0; r < WARMUP + rounds; r++) {
      if (r == WARMUP && PROFILER != null) {
        pilot.profiler(PROFILER, "start,event=cpu,interval=1ms,threads");
      }
      Map<FakeProxy, String> before = new HashMap<>();
      fleet.forEach(p -> before.put(p, p.seen.get(type).version()));
      double cpu0 = pilot.cpuSeconds();
      long driver0 = DRIVER.getProcessCpuTime();
      long start = System.nanoTime();
      var response = pilot.apply(change.apply(r));
      if (response.statusCode() != 200) {
        throw new IllegalStateException("apply failed: " + response.body());
      }
      awaitAll(fleet, p -> !p.seen.get(type).version().equals(before.get(p)), 600);
      long last = fleet.stream().mapToLong(p -> p.seen.get(type).nanos()).max().orElseThrow();
      long ms = Math.round((last - start) / 1e6);
      if (r < WARMUP) {
        cold.add(ms);
      } else {
        times.add(ms);
        cpu += pilot.cpuSeconds() - cpu0;
        driverCpu += (DRIVER.getProcessCpuTime() - driver0) / 1e9;
      }
      Thread.sleep(300);
    }
    if (PROFILER != null) {
      Path file = Path.of(System.getProperty("java.io.tmpdir"), "pilot-" + kind + ".txt");
      pilot.profiler(PROFILER, "stop,file=" + file + ",collapsed");
      System.out.printf("profile of the %s rounds counted: %s%n", kind, file);
    }
    List<Long> sorted = times.stream().sorted().toList();
    double kib = fleet.stream().mapToInt(p -> p.seen.get(type).bytes()).average().orElse(0) / 1024;
    System.out.printf(
        "%s, apply to last of %d proxies (%.1f KiB each, %.0f MiB in all): median %d ms, worst %d ms; pilot CPU %.0f ms per push, the simulated proxies' %.0f ms (rounds: %s; first %d, not counted: %s)%n",
        what,
        fleet.size(),
        kib,
        kib * fleet.size() / 1024,
        sorted.get(sorted.size() / 2),
        sorted.get(sorted.size() - 1),
        cpu * 1000 / rounds,
        driverCpu * 1000 / rounds,
        times,
        WARMUP,
        cold);
  }

  /**
   * Pilot's JVM options; {@code -Dbench.jfr=<file>} adds a flight recording for profiling, {@code
   * -Dbench.pilotJvm="..."} any other options (space-separated, e.g. a profiler's agent).
   */
  private static String[] jvmArgs() {
    List<String> args = new ArrayList<>(List.of("-XX:+UseParallelGC"));
    String jfr = System.getProperty("bench.jfr");
    if (jfr != null) {
      args.add("-XX:StartFlightRecording=dumponexit=true,filename=" + jfr + ",settings=profile");
    }
    String extra = System.getProperty("bench.pilotJvm", "").trim();
    if (!extra.isEmpty()) {
      args.addAll(List.of(extra.split("\\s+")));
    }
    return args.toArray(String[]::new);
  }

  private static String registry(int services, int endpoints) {
    StringBuilder y = new StringBuilder();
    for (int i = 0; i < services; i++) {
      y.append("---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-")
          .append(i)
          .append("}\nspec:\n  selector: {app: svc-")
          .append(i)
          .append("}\n  ports: [{name: http, port: 9080}]\n");
      for (int e = 0; e < endpoints; e++) {
        int n = i * endpoints + e;
        y.append(
                "---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: svc-")
            .append(i)
            .append('-')
            .append(e)
            .append("}\nspec:\n  address: 10.")
            .append(100 + n / 65536)
            .append('.')
            .append((n / 256) % 256)
            .append('.')
            .append(n % 256)
            .append("\n  labels: {app: svc-")
            .append(i)
            .append(", version: v1}\n");
      }
    }
    return y.toString();
  }

  private static void awaitAll(List<FakeProxy> fleet, Predicate<FakeProxy> done, int seconds)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!fleet.stream().allMatch(done)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            fleet.stream().filter(done.negate()).count()
                + " proxies still waiting after "
                + seconds
                + " s");
      }
      Thread.sleep(5);
    }
  }

  private static double ms(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e6;
  }

  private static void line(String what, double millis) {
    System.out.printf("%-72s %8.0f ms%n", what, millis);
  }
}
