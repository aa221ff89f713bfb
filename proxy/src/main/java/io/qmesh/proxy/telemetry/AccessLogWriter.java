package io.qmesh.proxy.telemetry;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Writes access log lines to one file from a thread of its own: event loops only queue a line. The
 * writer batches what is queued and flushes when the queue is empty, so a line is out within a few
 * milliseconds. Past {@link #MAX_PENDING} queued lines (a file that cannot keep up) lines are
 * dropped and counted rather than letting memory grow. One writer per path, shared by every
 * listener and config of the process.
 */
public final class AccessLogWriter {

  static final int MAX_PENDING = 100_000;

  private static final Map<String, AccessLogWriter> WRITERS = new ConcurrentHashMap<>();

  private final Queue<String> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicLong dropped = new AtomicLong();
  private final OutputStream out;
  private final Thread thread;

  private AccessLogWriter(String path) {
    this.out = new BufferedOutputStream(open(path), 64 * 1024);
    this.thread = new Thread(this::run, "access-log " + path);
    thread.setDaemon(true);
    thread.start();
  }

  /** The writer of a path: {@code /dev/stdout}, {@code /dev/stderr} or a file (appended to). */
  public static AccessLogWriter of(String path) {
    return WRITERS.computeIfAbsent(path, AccessLogWriter::new);
  }

  private static OutputStream open(String path) {
    switch (path) {
      case "/dev/stdout":
        return new FileOutputStream(FileDescriptor.out);
      case "/dev/stderr":
        return new FileOutputStream(FileDescriptor.err);
      default:
        try {
          return new FileOutputStream(path, true);
        } catch (IOException e) {
          throw new IllegalArgumentException(
              "access log file " + path + " cannot be opened: " + e.getMessage());
        }
    }
  }

  /** Queues a line (it carries its own newline). */
  public void write(String line) {
    if (pending.incrementAndGet() > MAX_PENDING) {
      pending.decrementAndGet();
      dropped.incrementAndGet();
      return;
    }
    queue.add(line);
  }

  /** Lines dropped because the file could not keep up. */
  public long dropped() {
    return dropped.get();
  }

  private void run() {
    while (true) {
      String line = queue.poll();
      if (line == null) {
        try {
          out.flush();
        } catch (IOException e) {
          // The file went away (a closed stdout): lines are lost, the proxy goes on.
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        continue;
      }
      pending.decrementAndGet();
      try {
        out.write(line.getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        dropped.incrementAndGet();
      }
    }
  }
}
