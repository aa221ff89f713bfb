package io.qmesh.proxy.telemetry;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Writes access log lines to one file from a thread of its own. An event loop renders its lines
 * straight into a buffer of its own (an uncontended lock, no queue node or string per line); every
 * few milliseconds the writer thread swaps each buffer for an empty one and writes its bytes as
 * they are (lines are rendered as bytes, so there is nothing to encode). A line is out within about
 * {@link #FLUSH_MILLIS} ms; lines of one thread stay in order. Past {@link #MAX_PENDING_BYTES}
 * waiting in a buffer (a file that cannot keep up) lines are dropped and counted rather than
 * letting memory grow. One writer per path, shared by every listener and config of the process.
 */
public final class AccessLogWriter {

  static final long FLUSH_MILLIS = 5;
  static final int MAX_PENDING_BYTES = 8 << 20;

  private static final Map<String, AccessLogWriter> WRITERS = new ConcurrentHashMap<>();

  /** One thread's pending lines. */
  private static final class Pending {
    final ReentrantLock lock = new ReentrantLock();
    LineBuffer lines = new LineBuffer(16 * 1024);
  }

  private final List<Pending> all = new CopyOnWriteArrayList<>();
  private final ThreadLocal<Pending> mine =
      ThreadLocal.withInitial(
          () -> {
            Pending p = new Pending();
            all.add(p);
            return p;
          });
  private final AtomicLong dropped = new AtomicLong();
  private final OutputStream out;

  private AccessLogWriter(String path) {
    this.out = open(path);
    Thread thread = new Thread(this::run, "access-log " + path);
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

  /** Renders one entry with {@code log}'s format into this thread's pending lines. */
  void write(AccessLog log, AccessLog.Entry entry) {
    Pending p = mine.get();
    p.lock.lock();
    try {
      if (p.lines.length() > MAX_PENDING_BYTES) {
        dropped.incrementAndGet();
        return;
      }
      log.renderInto(entry, p.lines);
    } finally {
      p.lock.unlock();
    }
  }

  /** Lines dropped because the file could not keep up. */
  public long dropped() {
    return dropped.get();
  }

  private void run() {
    LineBuffer spare = new LineBuffer(16 * 1024);
    while (true) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(FLUSH_MILLIS));
      boolean wrote = false;
      for (Pending p : all) {
        LineBuffer taken;
        p.lock.lock();
        try {
          if (p.lines.length() == 0) {
            continue;
          }
          taken = p.lines;
          p.lines = spare;
        } finally {
          p.lock.unlock();
        }
        try {
          taken.writeTo(out);
          wrote = true;
        } catch (IOException e) {
          // The file went away (a closed stdout): these lines are lost, the proxy goes on.
          dropped.incrementAndGet();
        }
        taken.clear();
        if (taken.capacity() > MAX_PENDING_BYTES) {
          // Grown by a stall: give the memory back. Below that, a buffer keeps its size, so that
          // the event loop does not grow (copy) it again every few milliseconds.
          taken = new LineBuffer(16 * 1024);
        }
        spare = taken;
      }
      if (wrote) {
        try {
          out.flush();
        } catch (IOException e) {
          dropped.incrementAndGet();
        }
      }
    }
  }
}
