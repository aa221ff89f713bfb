package io.qmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The supervisor's commands where no mesh runs, or only a recorded one. */
class MeshCommandsTest {

  @TempDir Path dir;

  @Test
  void upNamesTheMissingJarAndHowToBuildIt() {
    Cli.Run run = Cli.run(dir, dir.resolve(".qmesh"), "up", "--detach");
    assertThat(run.code()).isEqualTo(1);
    assertThat(run.err())
        .contains("error: not built: " + dir.resolve("pilot/target/quarkus-app/quarkus-run.jar"))
        .contains("./mvnw -B package -DskipTests");
  }

  @Test
  void commandsNeedingTheMeshSayItIsNotRunning() {
    assertThat(Cli.run(dir, dir.resolve(".qmesh"), "status").out())
        .contains("qmesh is not running here");
    assertThat(Cli.run(dir, dir.resolve(".qmesh"), "down").out())
        .contains("qmesh is not running here");
    Cli.Run exec = Cli.run(dir, dir.resolve(".qmesh"), "exec", "ratings-v1", "--", "true");
    assertThat(exec.code()).isEqualTo(1);
    assertThat(exec.err()).contains("no workload 'ratings-v1' with a sidecar here");
    Cli.Run run =
        Cli.run(
            dir,
            dir.resolve(".qmesh"),
            "run",
            "--name",
            "x",
            "--app",
            "x",
            "--port",
            "1",
            "--",
            "true");
    assertThat(run.code()).isEqualTo(1);
    assertThat(run.err()).contains("qmesh is not running here");
  }

  @Test
  void statusShowsRecordedComponentsAndWhetherTheyRun() throws Exception {
    Home home = new Home(dir, dir.resolve(".qmesh"));
    ProcessHandle me = ProcessHandle.current();
    long started = me.info().startInstant().orElseThrow().toEpochMilli();
    new MeshState(home)
        .add(new Component("pilot", "pilot", "pilot", me.pid(), started, Map.of("http", 1), null));
    new MeshState(home)
        .add(new Component("gone", "app", "gone", me.pid(), started - 60_000, Map.of(), null));

    Cli.Run json = Cli.run(dir, home.state(), "status", "-o", "json");
    assertThat(json.out())
        .contains("\"name\" : \"pilot\"")
        .contains("\"state\" : \"ready\"")
        .contains("\"state\" : \"exited\"");

    Cli.Run up = Cli.run(dir, home.state(), "up", "--detach");
    assertThat(up.code()).isEqualTo(1);
    assertThat(up.err()).contains("qmesh is already running here (1 components");

    Cli.Run reset = Cli.run(dir, home.state(), "reset");
    assertThat(reset.code()).isEqualTo(1);
    assertThat(reset.err()).contains("qmesh is running here; `qmesh down` first");
  }

  @Test
  void resetRemovesTheStateDirectory() throws Exception {
    Path state = dir.resolve(".qmesh");
    Files.createDirectories(state.resolve("config"));
    Files.writeString(state.resolve("config/store.yaml"), "items: []\n");
    Cli.Run run = Cli.run(dir, state, "reset");
    assertThat(run.code()).isZero();
    assertThat(state).doesNotExist();
  }

  @Test
  void logsPrintsAComponentsLogAndTheSidecarsWithIstioProxy() throws Exception {
    Path state = dir.resolve(".qmesh");
    Files.createDirectories(state.resolve("logs"));
    Files.writeString(state.resolve("logs/reviews-v1.log"), "one\ntwo\nthree\n");
    Files.writeString(state.resolve("logs/reviews-v1-sidecar.log"), "proxy\n");

    assertThat(Cli.run(dir, state, "logs", "reviews-v1").out()).isEqualTo("one\ntwo\nthree\n");
    assertThat(Cli.run(dir, state, "logs", "reviews-v1", "--tail", "2").out())
        .isEqualTo("two\nthree\n");
    assertThat(Cli.run(dir, state, "logs", "reviews-v1", "-c", "istio-proxy").out())
        .isEqualTo("proxy\n");
    Cli.Run none = Cli.run(dir, state, "logs", "nope");
    assertThat(none.code()).isEqualTo(1);
    assertThat(none.err()).contains("no log for 'nope'");
  }
}
