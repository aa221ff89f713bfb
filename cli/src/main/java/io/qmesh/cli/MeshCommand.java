package io.qmesh.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/** What every command has: where qmesh lives and keeps state, and where to print. */
abstract class MeshCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private Home home;

  Home home() {
    if (home == null) {
      home = Home.detect();
    }
    return home;
  }

  MeshState state() {
    return new MeshState(home());
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** The mesh's components that run here; fails when none does. */
  void requireRunning() {
    if (state().running().stream().noneMatch(c -> c.kind().equals("pilot"))) {
      throw new Failure("qmesh is not running here (" + home().state() + "); `qmesh up` starts it");
    }
  }
}
