package io.qmesh.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A process the supervisor started: its name ({@code reviews-v2}, {@code reviews-v2-sidecar}), its
 * kind ({@code pilot}, {@code gateway}, {@code sidecar}, {@code app}), the workload it belongs to,
 * its pid with the process' start (so a recycled pid is never taken for it), its ports by role, and
 * how to tell it is ready ({@code http://...} answering 200, or {@code tcp://host:port} accepting
 * connections).
 *
 * <p>The start is kept two ways. {@code startTicks} is the kernel's own record on Linux (clock
 * ticks since boot, {@code /proc/<pid>/stat}), which no clock adjustment moves; 0 where there is
 * none. {@code startedAt} is the start instant the JDK derives, which moves with the wall clock's
 * adjustments since boot (on a VM whose clock the host corrects, seconds within minutes), so it is
 * only compared, with a tolerance, where the ticks are unknown.
 */
record Component(
    String name,
    String kind,
    String workload,
    long pid,
    long startedAt,
    long startTicks,
    Map<String, Integer> ports,
    String ready) {

  Component {
    ports = new LinkedHashMap<>(ports);
  }

  /** A component whose start is known as an instant only. */
  Component(
      String name,
      String kind,
      String workload,
      long pid,
      long startedAt,
      Map<String, Integer> ports,
      String ready) {
    this(name, kind, workload, pid, startedAt, 0, ports, ready);
  }

  /** The live process, if it still runs (and is the one started). */
  Optional<ProcessHandle> process() {
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(this::startedAsRecorded);
  }

  private boolean startedAsRecorded(ProcessHandle h) {
    long ticks = startTicks > 0 ? startTicks(pid) : -1;
    if (ticks >= 0) {
      return ticks == startTicks;
    }
    return h.info()
        .startInstant()
        .map(i -> Math.abs(i.toEpochMilli() - startedAt) < 2_000)
        .orElse(true);
  }

  /**
   * A process' start in clock ticks since boot, field 22 of {@code /proc/<pid>/stat}; -1 where
   * there is no such file (not Linux, or the process is gone).
   */
  static long startTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // The command name (field 2) may hold spaces and parentheses; field 3 follows its last ')'.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(fields[22 - 3]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  boolean alive() {
    return process().isPresent();
  }

  int port(String role) {
    Integer p = ports.get(role);
    if (p == null) {
      throw new Failure(name + " has no " + role + " port");
    }
    return p;
  }
}
