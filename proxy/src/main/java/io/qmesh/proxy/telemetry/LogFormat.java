package io.qmesh.proxy.telemetry;

import io.netty.util.AsciiString;
import io.vertx.core.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An Envoy access log format ({@code %OPERATOR(arg):max%} command operators between literals)
 * parsed once into parts. A text line is rendered as bytes by one switch per part, each operator
 * reading the entry directly: no lambda or interface call per operator on the request path.
 */
final class LogFormat {

  private LogFormat() {}

  /** What a part renders. */
  enum Op {
    LITERAL,
    REQ,
    RESP,
    START_TIME,
    PROTOCOL,
    RESPONSE_CODE,
    RESPONSE_FLAGS,
    RESPONSE_CODE_DETAILS,
    BYTES_RECEIVED,
    BYTES_SENT,
    DURATION,
    UPSTREAM_HOST,
    UPSTREAM_CLUSTER,
    UPSTREAM_LOCAL_ADDRESS,
    DOWNSTREAM_LOCAL_ADDRESS,
    DOWNSTREAM_REMOTE_ADDRESS,
    DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT,
    ROUTE_NAME,
    /** An operator Envoy knows that this proxy never has a value for: {@code -}. */
    ABSENT
  }

  /**
   * One piece of a format: a literal ({@code text}, encoded once as {@code bytes}; also {@code
   * %HOSTNAME%}) or an operator, with its header names ({@code NAME?ALTERNATIVE}, lower case) and
   * its maximum length (-1: none).
   */
  record Part(Op op, String text, byte[] bytes, CharSequence[] names, int max) {

    static Part literal(String text) {
      return new Part(Op.LITERAL, text, text.getBytes(StandardCharsets.UTF_8), null, -1);
    }

    /** The value for the JSON format: a String, a Long, or null for Envoy's {@code -}. */
    Object value(AccessLog.Entry e, Scratch scratch) {
      Object v =
          switch (op) {
            case LITERAL -> text;
            case REQ -> header(e, true);
            case RESP -> header(e, false);
            case START_TIME ->
                new String(scratch.time.at(e.startMillis()), StandardCharsets.US_ASCII);
            case PROTOCOL -> e.protocol();
            case RESPONSE_CODE -> (long) e.status();
            case RESPONSE_FLAGS -> e.flags();
            case RESPONSE_CODE_DETAILS -> e.details();
            case BYTES_RECEIVED -> e.bytesReceived();
            case BYTES_SENT -> e.bytesSent();
            case DURATION -> e.durationMillis();
            case UPSTREAM_HOST -> e.upstreamHost();
            case UPSTREAM_CLUSTER -> e.upstreamCluster();
            case UPSTREAM_LOCAL_ADDRESS -> AccessLog.Entry.address(e.upstreamLocalAddress());
            case DOWNSTREAM_LOCAL_ADDRESS -> AccessLog.Entry.address(e.downstreamLocalAddress());
            case DOWNSTREAM_REMOTE_ADDRESS -> AccessLog.Entry.address(e.downstreamRemoteAddress());
            case DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT -> withoutPort(e.downstreamRemoteAddress());
            case ROUTE_NAME -> e.routeName();
            case ABSENT -> null;
          };
      return v instanceof String s ? cut(s) : v;
    }

    /** Appends the value as the text format writes it ({@code -} for none). */
    void append(AccessLog.Entry e, LineBuffer out, Scratch scratch) {
      switch (op) {
        case LITERAL -> out.append(bytes);
        case REQ, RESP -> {
          String v = header(e, op == Op.REQ);
          if (v == null) {
            out.append(DASH);
          } else {
            out.appendRaw(cut(v));
          }
        }
        case START_TIME -> out.append(scratch.time.at(e.startMillis()));
        case RESPONSE_CODE -> out.append(e.status());
        case BYTES_RECEIVED -> out.append(e.bytesReceived());
        case BYTES_SENT -> out.append(e.bytesSent());
        case DURATION -> out.append(e.durationMillis());
        case UPSTREAM_LOCAL_ADDRESS -> address(e.upstreamLocalAddress(), out, scratch);
        case DOWNSTREAM_LOCAL_ADDRESS -> address(e.downstreamLocalAddress(), out, scratch);
        case DOWNSTREAM_REMOTE_ADDRESS -> address(e.downstreamRemoteAddress(), out, scratch);
        case ABSENT -> out.append(DASH);
        default -> {
          Object v = value(e, scratch);
          if (v == null) {
            out.append(DASH);
          } else {
            out.appendText(v.toString());
          }
        }
      }
    }

    /** {@code %REQ(NAME?ALTERNATIVE)%} or {@code %RESP(...)%}: the first of the two that is set. */
    private String header(AccessLog.Entry e, boolean request) {
      String v = request ? e.requestHeader(names[0]) : e.responseHeader(names[0]);
      if (v == null && names.length > 1) {
        v = request ? e.requestHeader(names[1]) : e.responseHeader(names[1]);
      }
      return v;
    }

    private String cut(String s) {
      return max >= 0 && s.length() > max ? s.substring(0, max) : s;
    }

    private static void address(SocketAddress a, LineBuffer out, Scratch scratch) {
      if (a == null) {
        out.append(DASH);
      } else {
        out.append(scratch.address(a));
      }
    }
  }

  /**
   * What a rendering thread keeps between lines: the last start time's text, and the text of the
   * addresses it printed, by value (host and port, or a socket's path): an address seen again is
   * copied from its cached array instead of written out. By value, not by identity: in the
   * benchmark's profile the identity-keyed table missed on nearly every line (an address object is
   * made anew per request somewhere below Vert.x's accessors), formatting at least one address per
   * line. The table is direct-mapped and large enough that a busy proxy's connections rarely share
   * a slot. Used by one thread at a time.
   */
  static final class Scratch {
    private static final int ADDRESSES = 4096;

    final StartTime time = new StartTime();
    private final String[] hosts = new String[ADDRESSES];
    private final int[] ports = new int[ADDRESSES];
    private final byte[][] texts = new byte[ADDRESSES][];

    /** Addresses formatted because the table did not hold them (read by tests). */
    long misses;

    /** {@code host:port} (or a socket's path) as UTF-8. */
    byte[] address(SocketAddress a) {
      String path = a.path();
      String host = path != null ? path : a.host();
      int port = path != null ? -1 : a.port();
      if (host == null) {
        host = "";
      }
      int h = host.hashCode() * 31 + port;
      int i = (h ^ (h >>> 12)) & (ADDRESSES - 1);
      if (ports[i] != port || !host.equals(hosts[i])) {
        String text = path != null ? path : host + ":" + port;
        texts[i] = text.getBytes(StandardCharsets.UTF_8);
        hosts[i] = host;
        ports[i] = port;
        misses++;
      }
      return texts[i];
    }
  }

  private static final byte DASH = '-';

  /** Renders a text format's parts. */
  static void render(Part[] parts, AccessLog.Entry e, LineBuffer out, Scratch scratch) {
    for (Part p : parts) {
      p.append(e, out, scratch);
    }
  }

  /**
   * START_TIME ({@code 2026-11-26T10:15:30.123Z}), kept by a rendering thread as bytes: a new
   * millisecond of the same second rewrites three digits; only a new second formats the time again.
   */
  static final class StartTime {
    private static final DateTimeFormatter FORMAT =
        DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final int MILLIS_AT = 20;

    private long second = Long.MIN_VALUE;
    private long millis = -1;
    private final byte[] text = new byte[24];

    byte[] at(long ms) {
      if (millis != ms) {
        long s = Math.floorDiv(ms, 1000);
        if (second != s) {
          byte[] full = FORMAT.format(Instant.ofEpochMilli(ms)).getBytes(StandardCharsets.US_ASCII);
          if (full.length != text.length) {
            // A year past 9999 or before 0: not the fixed width this cache keeps.
            return full;
          }
          System.arraycopy(full, 0, text, 0, full.length);
          second = s;
        } else {
          int m = (int) Math.floorMod(ms, 1000);
          text[MILLIS_AT] = (byte) ('0' + m / 100);
          text[MILLIS_AT + 1] = (byte) ('0' + m / 10 % 10);
          text[MILLIS_AT + 2] = (byte) ('0' + m % 10);
        }
        millis = ms;
      }
      return text;
    }
  }

  /** Parses a format: literals and {@code %OPERATOR%} or {@code %OPERATOR(arg)[:max]%}. */
  static List<Part> parse(String format) {
    List<Part> out = new ArrayList<>();
    StringBuilder literal = new StringBuilder();
    int i = 0;
    while (i < format.length()) {
      char c = format.charAt(i);
      if (c != '%') {
        literal.append(c);
        i++;
        continue;
      }
      int end = format.indexOf('%', i + 1);
      if (end < 0) {
        throw new IllegalArgumentException("access log format: unterminated '%' at " + i);
      }
      if (end == i + 1) {
        literal.append('%');
        i += 2;
        continue;
      }
      Part p = operator(format.substring(i + 1, end));
      if (p.op() == Op.LITERAL) {
        literal.append(p.text());
      } else {
        if (literal.length() > 0) {
          out.add(Part.literal(literal.toString()));
          literal.setLength(0);
        }
        out.add(p);
      }
      i = end + 1;
    }
    if (literal.length() > 0) {
      out.add(Part.literal(literal.toString()));
    }
    return List.copyOf(out);
  }

  private static Part operator(String op) {
    String name = op;
    String arg = null;
    int max = -1;
    int paren = op.indexOf('(');
    if (paren > 0) {
      int close = op.indexOf(')', paren);
      if (close < 0) {
        throw new IllegalArgumentException("access log format: unclosed '(' in %" + op + "%");
      }
      name = op.substring(0, paren);
      arg = op.substring(paren + 1, close);
      String rest = op.substring(close + 1);
      if (rest.startsWith(":")) {
        max = Integer.parseInt(rest.substring(1));
      }
    }
    Op kind =
        switch (name) {
          case "REQ" -> Op.REQ;
          case "RESP" -> Op.RESP;
          case "START_TIME" -> Op.START_TIME;
          case "PROTOCOL" -> Op.PROTOCOL;
          case "RESPONSE_CODE" -> Op.RESPONSE_CODE;
          case "RESPONSE_FLAGS" -> Op.RESPONSE_FLAGS;
          case "RESPONSE_CODE_DETAILS" -> Op.RESPONSE_CODE_DETAILS;
          case "BYTES_RECEIVED" -> Op.BYTES_RECEIVED;
          case "BYTES_SENT" -> Op.BYTES_SENT;
          case "DURATION" -> Op.DURATION;
          case "UPSTREAM_HOST" -> Op.UPSTREAM_HOST;
          case "UPSTREAM_CLUSTER", "UPSTREAM_CLUSTER_RAW" -> Op.UPSTREAM_CLUSTER;
          case "UPSTREAM_LOCAL_ADDRESS" -> Op.UPSTREAM_LOCAL_ADDRESS;
          case "DOWNSTREAM_LOCAL_ADDRESS" -> Op.DOWNSTREAM_LOCAL_ADDRESS;
          case "DOWNSTREAM_REMOTE_ADDRESS", "DOWNSTREAM_PEER_ADDRESS" ->
              Op.DOWNSTREAM_REMOTE_ADDRESS;
          case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT" ->
              Op.DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT;
          case "ROUTE_NAME" -> Op.ROUTE_NAME;
          // Known to Envoy and not set by this proxy (no termination details, no server name
          // on the connection manager's view): '-'.
          case "CONNECTION_TERMINATION_DETAILS",
              "UPSTREAM_TRANSPORT_FAILURE_REASON",
              "REQUESTED_SERVER_NAME" ->
              Op.ABSENT;
          case "HOSTNAME" -> Op.LITERAL;
          default ->
              throw new IllegalArgumentException(
                  "access log format: unsupported command operator %" + op + "%");
        };
    if (kind == Op.LITERAL) {
      return Part.literal(hostname());
    }
    CharSequence[] names = kind == Op.REQ || kind == Op.RESP ? headerNames(arg) : null;
    return new Part(kind, null, null, names, max);
  }

  /** The names of {@code NAME?ALTERNATIVE}, lower case, with their hashes computed once. */
  private static CharSequence[] headerNames(String arg) {
    if (arg == null || arg.isEmpty()) {
      throw new IllegalArgumentException("access log format: REQ/RESP need a header name");
    }
    String[] alt = arg.split("\\?", 2);
    CharSequence[] names = new CharSequence[alt.length];
    for (int i = 0; i < alt.length; i++) {
      names[i] = AsciiString.cached(alt[i].toLowerCase(Locale.ROOT));
    }
    return names;
  }

  private static String withoutPort(SocketAddress address) {
    return address == null ? null : address.path() != null ? address.path() : address.host();
  }

  private static String hostname() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "localhost";
    }
  }
}
