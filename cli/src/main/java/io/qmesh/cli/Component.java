package io.qmesh.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A process the supervisor started: its name ({@code reviews-v2}, {@code reviews-v2-sidecar}), its
 * kind ({@code pilot}, {@code gateway}, {@code sidecar}, {@code app}), the workload it belongs to,
 * its pid with the process' start time (so a recycled pid is never taken for it), its ports by
 * role, and how to tell it is ready ({@code http://...} answering 200, or {@code tcp://host:port}
 * accepting connections).
 */
record Component(
    String name,
    String kind,
    String workload,
    long pid,
    long startedAt,
    Map<String, Integer> ports,
    String ready) {

  Component {
    ports = new LinkedHashMap<>(ports);
  }

  /** The live process, if it still runs (and is the one started). */
  Optional<ProcessHandle> process() {
    return ProcessHandle.of(pid)
        .filter(ProcessHandle::isAlive)
        .filter(
            h ->
                h.info()
                    .startInstant()
                    .map(i -> Math.abs(i.toEpochMilli() - startedAt) < 2_000)
                    .orElse(true));
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
