package io.qmesh.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/** Runs the qmesh command line in this JVM, with its home and state where a test says. */
final class Cli {

  /** What a command printed and returned. */
  record Run(int code, String out, String err) {}

  private Cli() {}

  static Run run(Path home, Path state, String... args) {
    String oldHome = System.getProperty("qmesh.home");
    String oldState = System.getProperty("qmesh.state");
    System.setProperty("qmesh.home", home.toString());
    System.setProperty("qmesh.state", state.toString());
    try {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      var cl = Qmesh.commandLine();
      cl.setOut(new PrintWriter(out, true));
      cl.setErr(new PrintWriter(err, true));
      int code = cl.execute(args);
      return new Run(code, out.toString(), err.toString());
    } finally {
      restore("qmesh.home", oldHome);
      restore("qmesh.state", oldState);
    }
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }
}
