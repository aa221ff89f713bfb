package io.qmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SupervisorTest {

  @TempDir Path state;

  private Home home() {
    return new Home(Path.of("."), state);
  }

  @Test
  void startsRecordsAndStopsAProcessWithItsChildren() throws Exception {
    Supervisor s = new Supervisor(home());
    int port = freePort();
    Component c =
        s.start(
            new Launch(
                "child",
                "app",
                "child",
                List.of("sh", "-c", "sleep 60 & echo started; wait"),
                Map.of(),
                Map.of("app", port),
                List.of(port),
                null));
    assertThat(c.alive()).isTrue();
    assertThat(new MeshState(home()).find("child"))
        .hasValueSatisfying(r -> assertThat(r.pid()).isEqualTo(c.pid()));
    ProcessHandle handle = c.process().orElseThrow();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (handle.descendants().findAny().isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    List<ProcessHandle> children = handle.descendants().toList();
    assertThat(children).isNotEmpty();

    s.stop(List.of(c), Duration.ofSeconds(5));

    assertThat(c.alive()).isFalse();
    assertThat(children).noneMatch(ProcessHandle::isAlive);
    assertThat(new MeshState(home()).components()).isEmpty();
    assertThat(Supervisor.tail(home().log("child"), 5)).contains("started");
  }

  @Test
  void aComponentThatDiesWhileStartingFailsWithTheEndOfItsLog() throws Exception {
    Supervisor s = new Supervisor(home());
    Component c =
        s.start(
            new Launch(
                "broken",
                "app",
                "broken",
                List.of("sh", "-c", "echo 'cannot bind: address in use' >&2; exit 3"),
                Map.of(),
                Map.of(),
                List.of(),
                "tcp://127.0.0.1:" + freePort()));
    assertThatThrownBy(() -> s.awaitReady(c, Duration.ofSeconds(10)))
        .isInstanceOf(Failure.class)
        .hasMessageContaining("broken exited while starting")
        .hasMessageContaining("| cannot bind: address in use");
  }

  @Test
  void aRecycledPidIsNotTakenForTheComponent() {
    ProcessHandle me = ProcessHandle.current();
    long started = me.info().startInstant().orElseThrow().toEpochMilli();
    assertThat(new Component("me", "app", "me", me.pid(), started, Map.of(), null).alive())
        .isTrue();
    assertThat(
            new Component("me", "app", "me", me.pid(), started - 3_600_000, Map.of(), null).alive())
        .isFalse();
  }

  @Test
  void onLinuxTheKernelsStartTicksTellTheProcessWhateverTheWallClockDid() {
    ProcessHandle me = ProcessHandle.current();
    long ticks = Component.startTicks(me.pid());
    assertThat(ticks).as("/proc/<pid>/stat on this Linux machine").isPositive();
    long started = me.info().startInstant().orElseThrow().toEpochMilli();
    // The JDK's start instant follows the wall clock's adjustments since boot: an hour's drift
    // does not make the process another one while its ticks match.
    assertThat(
            new Component("me", "app", "me", me.pid(), started - 3_600_000, ticks, Map.of(), null)
                .alive())
        .isTrue();
    assertThat(
            new Component("me", "app", "me", me.pid(), started, ticks + 1, Map.of(), null).alive())
        .isFalse();
  }

  @Test
  void aStartedComponentRecordsItsStartTicks() {
    Supervisor s = new Supervisor(home());
    Component c =
        s.start(
            new Launch(
                "sleeper",
                "app",
                "sleeper",
                List.of("sleep", "30"),
                Map.of(),
                Map.of(),
                List.of(),
                null));
    try {
      assertThat(c.startTicks()).isPositive().isEqualTo(Component.startTicks(c.pid()));
      // As mesh.json keeps it for the next command (`qmesh down` runs in another JVM).
      assertThat(new MeshState(home()).find("sleeper"))
          .hasValueSatisfying(r -> assertThat(r.startTicks()).isEqualTo(c.startTicks()));
      assertThat(c.alive()).isTrue();
    } finally {
      s.stop(List.of(c), Duration.ofSeconds(5));
    }
    assertThat(c.alive()).isFalse();
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
