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
 * straight into a buffer of its own (an uncontended lock, no queue node or string per line); the
 * writer thread swaps each buffer for an empty one and writes its bytes as they are (lines are
 * rendered as bytes, so there is nothing to encode). As Envoy's file logger: a buffer is written
 * once {@link #FLUSH_BYTES} wait in it (the event loop wakes the writer) or after the flush
 * interval ({@link #FLUSH_MILLIS}, Envoy's {@code file_flush_interval_msec}), whichever comes
 * first, so a busy proxy writes in 64 KiB pieces and a quiet one once a second. While lines come
 * faster than that (the writer found {@link #FLUSH_BYTES} or more in a round), the writer polls
 * every {@link #POLL_MILLIS} instead and event loops do not wake it: waking it took 0.1 us per
 * request in the benchmark's profile (a futex call per 64 KiB, on the proxy's core). Lines of one
 * thread stay in order. Past {@link #MAX_PENDING_BYTES} waiting in a buffer (a file that cannot
 * keep up) lines are dropped and counted rather than letting memory grow. One writer per path,
 * shared by every listener and config of the process.
 */
public final class AccessLogWriter {

  static final long FLUSH_MILLIS = 1000;
  static final int FLUSH_BYTES = 64 * 1024;
  static final long POLL_MILLIS = 20;
  static final int MAX_PENDING_BYTES = 8 << 20;

  private static final Map<String, AccessLogWriter> WRITERS = new ConcurrentHashMap<>();

  /** One thread's pending lines. */
  private static final class Pending {
    final ReentrantLock lock = new ReentrantLock();
    LineBuffer lines = new LineBuffer(2 * FLUSH_BYTES);

    /** The thread's rendering state (start time, addresses), used under the lock. */
    final LogFormat.Scratch scratch = new LogFormat.Scratch();

    /** Whether the writer was woken for these lines already (set and cleared under the lock). */
    boolean woken;
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
  private final AtomicLong wakeups = new AtomicLong();
  private final OutputStream out;
  private final long flushNanos;
  private final long pollNanos;

  /** Whether the writer polls (lines come fast): then event loops do not wake it. */
  private volatile boolean polling;

  private final Thread thread;

  private AccessLogWriter(String path) {
    this(path, FLUSH_MILLIS, POLL_MILLIS);
  }

  /** A writer of its own (tests), with its flush and poll intervals. */
  AccessLogWriter(String path, long flushMillis, long pollMillis) {
    this.out = open(path);
    this.flushNanos = TimeUnit.MILLISECONDS.toNanos(flushMillis);
    this.pollNanos = TimeUnit.MILLISECONDS.toNanos(pollMillis);
    thread = new Thread(this::run, "access-log " + path);
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
      log.renderInto(entry, p.lines, p.scratch);
      if (p.lines.length() >= FLUSH_BYTES && !p.woken && !polling) {
        p.woken = true;
        wakeups.incrementAndGet();
        LockSupport.unpark(thread);
      }
    } finally {
      p.lock.unlock();
    }
  }

  /** Lines dropped because the file could not keep up. */
  public long dropped() {
    return dropped.get();
  }

  /** How many times an event loop woke the writer (tests). */
  long wakeups() {
    return wakeups.get();
  }

  /** Whether the writer polls rather than waits to be woken (tests). */
  boolean polling() {
    return polling;
  }

  private void run() {
    LineBuffer spare = new LineBuffer(2 * FLUSH_BYTES);
    while (true) {
      // Until the interval (or the poll) is up or an event loop has a full buffer (unpark);
      // either way every buffer with lines is written.
      LockSupport.parkNanos(polling ? pollNanos : flushNanos);
      long wrote = 0;
      for (Pending p : all) {
        LineBuffer taken;
        p.lock.lock();
        try {
          if (p.lines.length() == 0) {
            continue;
          }
          taken = p.lines;
          p.lines = spare;
          p.woken = false;
        } finally {
          p.lock.unlock();
        }
        try {
          taken.writeTo(out);
          wrote += taken.length();
        } catch (IOException e) {
          // The file went away (a closed stdout): these lines are lost, the proxy goes on.
          dropped.incrementAndGet();
        }
        taken.clear();
        if (taken.capacity() > MAX_PENDING_BYTES) {
          // Grown by a stall: give the memory back. Below that, a buffer keeps its size, so that
          // the event loop does not grow (copy) it again every few milliseconds.
          taken = new LineBuffer(2 * FLUSH_BYTES);
        }
        spare = taken;
      }
      if (wrote > 0) {
        try {
          out.flush();
        } catch (IOException e) {
          dropped.incrementAndGet();
        }
      }
      polling = wrote >= FLUSH_BYTES;
    }
  }
}
