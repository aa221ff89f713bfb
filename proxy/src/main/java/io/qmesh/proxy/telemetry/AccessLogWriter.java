package io.qmesh.proxy.telemetry;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CoderResult;
import java.nio.charset.StandardCharsets;
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
 * few milliseconds the writer thread swaps each buffer for an empty one and writes what it took. A
 * line is out within about {@link #FLUSH_MILLIS} ms; lines of one thread stay in order. Past {@link
 * #MAX_PENDING_CHARS} waiting in a buffer (a file that cannot keep up) lines are dropped and
 * counted rather than letting memory grow. One writer per path, shared by every listener and config
 * of the process.
 */
public final class AccessLogWriter {

  static final long FLUSH_MILLIS = 5;
  static final int MAX_PENDING_CHARS = 8 << 20;

  private static final Map<String, AccessLogWriter> WRITERS = new ConcurrentHashMap<>();

  /** One thread's pending lines. */
  private static final class Pending {
    final ReentrantLock lock = new ReentrantLock();
    StringBuilder lines = new StringBuilder(16 * 1024);
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

  // The writer thread's own buffers, reused: writing makes no garbage (a string and a byte array
  // per flush would be tens of megabytes a second under load, for the proxy's garbage collector).
  private char[] chars = new char[16 * 1024];
  private final ByteBuffer bytes = ByteBuffer.allocate(64 * 1024);
  private final CharsetEncoder utf8 = StandardCharsets.UTF_8.newEncoder();

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
      if (p.lines.length() > MAX_PENDING_CHARS) {
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

  /** Writes the lines as UTF-8 through the reused buffers. */
  private void writeOut(StringBuilder lines) throws IOException {
    int n = lines.length();
    if (chars.length < n) {
      chars = new char[Math.max(n, chars.length * 2)];
    }
    lines.getChars(0, n, chars, 0);
    CharBuffer in = CharBuffer.wrap(chars, 0, n);
    utf8.reset();
    while (true) {
      CoderResult r = utf8.encode(in, bytes, true);
      if (r.isUnderflow()) {
        r = utf8.flush(bytes);
      }
      out.write(bytes.array(), 0, bytes.position());
      bytes.clear();
      if (r.isUnderflow()) {
        return;
      }
      if (r.isError()) {
        // A lone surrogate: not UTF-8; the rest of this batch is dropped, counted.
        dropped.incrementAndGet();
        return;
      }
    }
  }

  private void run() {
    StringBuilder spare = new StringBuilder(16 * 1024);
    while (true) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(FLUSH_MILLIS));
      boolean wrote = false;
      for (Pending p : all) {
        StringBuilder taken;
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
          writeOut(taken);
          wrote = true;
        } catch (IOException e) {
          // The file went away (a closed stdout): these lines are lost, the proxy goes on.
          dropped.incrementAndGet();
        }
        taken.setLength(0);
        if (taken.capacity() > MAX_PENDING_CHARS) {
          // Grown by a stall: give the memory back. Below that, a buffer keeps its size, so that
          // the event loop does not grow (copy) it again every few milliseconds.
          taken = new StringBuilder(16 * 1024);
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
