package io.qmesh.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The laptop mode's ports. Every process shares 127.0.0.1, so pilot keeps Istio's ports (15010 xDS,
 * 15012 the CA and xDS over TLS, 15014 HTTP) and each workload gets a block of ten ports of its
 * own, from 20000 up (below Linux's ephemeral range): its proxy's admin (Istio's 15000) at +0, the
 * sidecar's outbound listener (15001) at +1, its inbound listener, the workload's mesh address
 * (15006), at +6, and the app's private port at +8.
 */
final class Ports {

  static final int PILOT_XDS = 15010;
  static final int PILOT_HTTP = 15014;
  static final int PILOT_CA = 15012;
  static final int BLOCK_BASE = 20000;
  static final int BLOCK_SIZE = 10;
  static final int ADMIN = 0;
  static final int OUTBOUND = 1;
  static final int HEALTH = 2;
  static final int MERGED_STATS = 3;
  static final int PROXY_STATS = 4;
  static final int INBOUND = 6;
  static final int APP = 8;

  private Ports() {}

  /** The first port of block {@code index}. */
  static int block(int index) {
    return BLOCK_BASE + index * BLOCK_SIZE;
  }

  /** The block a port belongs to. */
  static int blockOf(int port) {
    return (port - BLOCK_BASE) / BLOCK_SIZE;
  }

  /** Fails naming every port of {@code ports} already taken, and the process holding it. */
  static void requireFree(List<Integer> ports, String forWhat) {
    List<String> taken =
        ports.stream()
            .map(p -> inUse(p).map(who -> p + " (" + who + ")"))
            .flatMap(Optional::stream)
            .toList();
    if (!taken.isEmpty()) {
      throw new Failure(
          forWhat
              + " needs port"
              + (taken.size() > 1 ? "s " : " ")
              + String.join(", ", taken)
              + ", already in use on 127.0.0.1");
    }
  }

  /** Who holds a port on 127.0.0.1, if it is taken. */
  static Optional<String> inUse(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of(owner(port).map(Ports::describe).orElse("held by another process"));
    }
  }

  private static String describe(ProcessHandle h) {
    String cmd = h.info().commandLine().or(() -> h.info().command()).orElse("?");
    if (cmd.length() > 100) {
      cmd = cmd.substring(0, 100) + "...";
    }
    return "pid " + h.pid() + ": " + cmd;
  }

  /**
   * The process listening on a TCP port, found through {@code /proc} on Linux (the socket's inode,
   * then the process holding a descriptor to it); empty elsewhere or when it is not ours to see.
   */
  static Optional<ProcessHandle> owner(int port) {
    String hexPort = String.format(Locale.ROOT, ":%04X", port);
    Optional<String> inode =
        Stream.of("/proc/net/tcp", "/proc/net/tcp6")
            .map(Path::of)
            .filter(Files::isReadable)
            .flatMap(Ports::lines)
            .map(l -> l.trim().split("\\s+"))
            .filter(f -> f.length > 9 && f[1].endsWith(hexPort) && f[3].equals("0A"))
            .map(f -> f[9])
            .filter(i -> !i.equals("0"))
            .findFirst();
    if (inode.isEmpty()) {
      return Optional.empty();
    }
    String link = "socket:[" + inode.get() + "]";
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs
          .filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
          .filter(p -> holds(p.resolve("fd"), link))
          .map(p -> ProcessHandle.of(Long.parseLong(p.getFileName().toString())))
          .flatMap(Optional::stream)
          .findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static boolean holds(Path fds, String link) {
    try (Stream<Path> s = Files.list(fds)) {
      return s.anyMatch(
          fd -> {
            try {
              return Files.readSymbolicLink(fd).toString().equals(link);
            } catch (IOException | UnsupportedOperationException e) {
              return false;
            }
          });
    } catch (IOException | SecurityException e) {
      return false;
    }
  }

  private static Stream<String> lines(Path p) {
    try {
      return Files.readAllLines(p).stream().skip(1);
    } catch (IOException e) {
      return Stream.empty();
    }
  }
}
