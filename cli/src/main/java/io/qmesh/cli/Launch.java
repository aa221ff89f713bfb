package io.qmesh.cli;

import java.util.List;
import java.util.Map;

/**
 * What to start: a component's name, kind and workload, its command and extra environment, its
 * ports by role, the ports it binds (checked free before it starts), and its readiness check.
 */
record Launch(
    String name,
    String kind,
    String workload,
    List<String> command,
    Map<String, String> env,
    Map<String, Integer> ports,
    List<Integer> binds,
    String ready) {

  Launch {
    command = List.copyOf(command);
    env = Map.copyOf(env);
    binds = List.copyOf(binds);
  }
}
