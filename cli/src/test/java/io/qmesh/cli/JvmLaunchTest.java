package io.qmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JVMs {@code qmesh up} starts: their memory settings (a native heap held to two arenas and
 * trimmed where the JVM can) reach each component, and a JVM started with exactly those options and
 * environment runs.
 */
class JvmLaunchTest {

  @TempDir Path dir;

  @Test
  void everyJvmGetsTheMemorySettingsAndTheyStartAJvm() throws Exception {
    for (String module : new String[] {"sidecar", "ingress-gateway", "pilot", "bookinfo/ratings"}) {
      Path jar = dir.resolve(module).resolve("target/quarkus-app/quarkus-run.jar");
      Files.createDirectories(jar.getParent());
      Files.createFile(jar);
    }
    Launches launches = new Launches(new Home(dir, dir.resolve(".qmesh")), false);
    Launches.Workload ratings =
        Launches.Workload.inBlock("ratings-v1", "ratings", "v1", "bookinfo-ratings", 4, 9080);
    List<Launch> jvms =
        List.of(
            launches.pilot(),
            launches.sidecar(ratings),
            launches.gateway(
                "ingress-gateway", "istio-ingressgateway", "istio=ingressgateway", 0, List.of()),
            launches.bookinfoApp(ratings, java.util.Map.of()));
    for (Launch l : jvms) {
      assertThat(l.env()).as(l.name()).containsKey("MALLOC_ARENA_MAX");
      if (System.getenv("QMESH_JAVA_OPTS") == null) {
        assertThat(l.command().contains("-XX:TrimNativeHeapInterval=5000"))
            .as(l.name() + ": " + l.command())
            .isEqualTo(Launches.trimsNativeHeap());
      }
    }
    // This JDK (the one the children run on) has the trim, as the CI's JDK 17 does.
    assertThat(Launches.trimsNativeHeap()).isTrue();

    Launch sidecar = jvms.get(1);
    List<String> cmd =
        new ArrayList<>(sidecar.command().subList(0, sidecar.command().indexOf("-jar")));
    cmd.add("-version");
    ProcessBuilder b = new ProcessBuilder(cmd).redirectErrorStream(true);
    b.environment().putAll(sidecar.env());
    Process p = b.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).contains("version");
  }
}
