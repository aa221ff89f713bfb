package io.qmesh.proxy.telemetry;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Access log lines as bytes, the form the file gets: rendering appends to a reused array, so a line
 * costs no string, no character buffer and no encoding pass. Header values are appended as the
 * bytes that came on the wire (HTTP decodes each header byte to one char, as Envoy logs them); text
 * of our own (cluster and route names) as UTF-8.
 */
final class LineBuffer {

  private byte[] bytes;
  private int length;

  LineBuffer(int capacity) {
    bytes = new byte[capacity];
  }

  int length() {
    return length;
  }

  int capacity() {
    return bytes.length;
  }

  void clear() {
    length = 0;
  }

  void writeTo(OutputStream out) throws IOException {
    out.write(bytes, 0, length);
  }

  /** The buffer's text, for tests and the JSON format's fallbacks. */
  @Override
  public String toString() {
    return new String(bytes, 0, length, StandardCharsets.UTF_8);
  }

  private void ensure(int more) {
    if (length + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(length + more, bytes.length * 2));
    }
  }

  void append(byte b) {
    ensure(1);
    bytes[length++] = b;
  }

  void append(byte[] b) {
    ensure(b.length);
    System.arraycopy(b, 0, bytes, length, b.length);
    length += b.length;
  }

  /** A header value: one byte per char, as it came on the wire. */
  @SuppressWarnings("deprecation") // getBytes(int, int, byte[], int) is the low-byte copy meant
  void appendRaw(String s) {
    int n = s.length();
    ensure(n);
    s.getBytes(0, n, bytes, length);
    length += n;
  }

  /**
   * Text of our own: ASCII copied as it is, anything else encoded as UTF-8. The common case (names,
   * addresses, flags) is a String, read as one, with the array and the length in locals: in the
   * benchmark's profile a loop over a CharSequence took about 25 ns a character for the addresses.
   */
  void appendText(String s) {
    int n = s.length();
    ensure(n);
    byte[] b = bytes;
    int at = length;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) {
        length = at;
        append(s.substring(i).getBytes(StandardCharsets.UTF_8));
        return;
      }
      b[at++] = (byte) c;
    }
    length = at;
  }

  /** A number in decimal. */
  void append(long v) {
    if (v < 0) {
      if (v == Long.MIN_VALUE) {
        appendText(Long.toString(v));
        return;
      }
      append((byte) '-');
      v = -v;
    }
    int digits = 1;
    for (long t = v; t >= 10; t /= 10) {
      digits++;
    }
    ensure(digits);
    int end = length + digits;
    for (int i = end - 1; i >= length; i--) {
      bytes[i] = (byte) ('0' + (int) (v % 10));
      v /= 10;
    }
    length = end;
  }
}
