package io.qmesh.cli;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Starts components as processes (each in its own session where {@code setsid} exists, so a
 * terminal's Ctrl-C or hang-up reaches only the {@code qmesh} command, which then stops them in
 * order), waits for their readiness, and stops them: SIGTERM, a grace period for in-flight work,
 * then SIGKILL.
 */
final class Supervisor {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
  private static final Optional<String> SETSID =
      List.of("/usr/bin/setsid", "/bin/setsid").stream()
          .filter(p -> Files.isExecutable(Path.of(p)))
          .findFirst();
  private static final boolean WINDOWS =
      System.getProperty("os.name", "").toLowerCase().contains("win");

  private final Home home;
  private final MeshState state;

  Supervisor(Home home) {
    this.home = home;
    this.state = new MeshState(home);
  }

  /** Starts a component (its ports must be free), records it, and returns it. */
  Component start(Launch l) {
    Ports.requireFree(l.binds(), l.name());
    Path log = home.log(l.name());
    try {
      Files.createDirectories(home.logs());
      List<String> cmd = new ArrayList<>();
      SETSID.ifPresent(cmd::add);
      cmd.addAll(l.command());
      ProcessBuilder b =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .redirectInput(new File(WINDOWS ? "NUL" : "/dev/null"));
      b.environment().putAll(l.env());
      Process p = b.start();
      long started =
          p.info().startInstant().map(Instant::toEpochMilli).orElse(System.currentTimeMillis());
      long ticks = Component.startTicks(p.pid());
      Component c =
          new Component(
              l.name(),
              l.kind(),
              l.workload(),
              p.pid(),
              started,
              Math.max(ticks, 0),
              l.ports(),
              l.ready());
      state.add(c);
      return c;
    } catch (IOException e) {
      throw new Failure("cannot start " + l.name() + " (" + l.command().get(0) + "): " + e, e);
    }
  }

  /**
   * Waits until a component is ready; fails with the tail of its log when it exits or is not ready
   * in time.
   */
  void awaitReady(Component c, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (ready(c.ready())) {
        return;
      }
      if (!c.alive()) {
        throw new Failure(
            c.name()
                + " exited while starting; the end of "
                + home.log(c.name())
                + ":\n"
                + tail(c));
      }
      sleep(100);
    }
    throw new Failure(
        c.name()
            + " was not ready after "
            + timeout.toSeconds()
            + " s ("
            + c.ready()
            + "); the end of "
            + home.log(c.name())
            + ":\n"
            + tail(c));
  }

  /** Whether a readiness check passes now: an HTTP 200, or a TCP port accepting connections. */
  static boolean ready(String check) {
    if (check == null) {
      return true;
    }
    URI uri = URI.create(check);
    try {
      if (uri.getScheme().equals("tcp")) {
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 500);
          return true;
        }
      }
      HttpResponse<Void> r =
          HTTP.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
              HttpResponse.BodyHandlers.discarding());
      return r.statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Stops components, all at once: SIGTERM to each and its descendants, up to {@code grace} for
   * them to finish, then SIGKILL. Removes them from the record.
   */
  void stop(List<Component> components, Duration grace) {
    List<ProcessHandle> handles = new ArrayList<>();
    for (Component c : components) {
      c.process()
          .ifPresent(
              h -> {
                h.descendants().forEach(handles::add);
                handles.add(h);
              });
    }
    handles.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + grace.toNanos();
    for (ProcessHandle h : handles) {
      long left = deadline - System.nanoTime();
      try {
        h.onExit().get(Math.max(left, 0), TimeUnit.NANOSECONDS);
      } catch (Exception e) {
        h.destroyForcibly();
      }
    }
    for (ProcessHandle h : handles) {
      try {
        h.onExit().get(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        // Reported by status; nothing more can be done to it.
      }
    }
    state.remove(components);
  }

  /** The last lines of a component's log. */
  String tail(Component c) {
    return tail(home.log(c.name()), 25);
  }

  /** The last lines of a log, quoted for an error message. */
  static String tail(Path log, int lines) {
    if (!Files.exists(log)) {
      return "  (no log)";
    }
    try {
      StringBuilder out = new StringBuilder();
      lastLines(log, lines).forEach(l -> out.append("  | ").append(l).append('\n'));
      return out.toString();
    } catch (IOException e) {
      return "  (cannot read " + log + ": " + e.getMessage() + ")";
    }
  }

  /** The last {@code n} lines of a file, read from its end (a log may be large). */
  static List<String> lastLines(Path file, int n) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      long len = f.length();
      for (long window = 16_384; ; window *= 4) {
        long from = Math.max(0, len - window);
        byte[] buf = new byte[(int) (len - from)];
        f.seek(from);
        f.readFully(buf);
        List<String> all = List.of(new String(buf, StandardCharsets.UTF_8).split("\n", -1));
        // The first line of a window may be cut; the last element is what follows the final
        // newline.
        if (from == 0 || all.size() > n + 1) {
          List<String> complete = all.subList(0, all.size() - 1);
          if (!all.get(all.size() - 1).isEmpty()) {
            complete = all;
          }
          return List.copyOf(complete.subList(Math.max(0, complete.size() - n), complete.size()));
        }
      }
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failure("interrupted");
    }
  }
}
