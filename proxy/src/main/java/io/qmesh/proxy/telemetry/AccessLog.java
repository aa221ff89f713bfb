package io.qmesh.proxy.telemetry;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.accesslog.v3.ComparisonFilter;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.netty.util.AsciiString;
import io.vertx.core.net.SocketAddress;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.IntPredicate;

/**
 * An Envoy file access log ({@code envoy.access_loggers.file}) compiled once per config: the format
 * (text with Envoy's command operators, or JSON whose values are such formats) parsed into parts,
 * the status code filter, and the file it writes to. Logging one request renders its parts and
 * hands the line to the file's writer thread; the request path never writes or waits.
 */
public final class AccessLog {

  /** What a format reads of one finished request. Absent values are null (written {@code -}). */
  public interface Entry {
    long startMillis();

    /** A request header by its lower-case name; pseudo-headers ({@code :path}...) too. */
    String requestHeader(CharSequence lowerCaseName);

    String responseHeader(CharSequence lowerCaseName);

    String protocol();

    int status();

    String flags();

    String details();

    long bytesReceived();

    long bytesSent();

    long durationMillis();

    String upstreamHost();

    String upstreamCluster();

    SocketAddress upstreamLocalAddress();

    SocketAddress downstreamLocalAddress();

    SocketAddress downstreamRemoteAddress();

    String routeName();

    /** An address as the operators print it ({@code host:port}), or null. */
    static String address(SocketAddress a) {
      return a == null ? null : a.toString();
    }
  }

  /** One piece of a format: a literal or a command operator. */
  private interface Part {
    /** The value, or null for Envoy's {@code -}. */
    Object value(Entry e);

    /** Appends the value as text ({@code -} for none). */
    default void append(Entry e, StringBuilder sb) {
      Object v = value(e);
      if (v == null) {
        sb.append('-');
      } else {
        sb.append(v);
      }
    }
  }

  /** A number, appended without boxing. */
  private record Count(java.util.function.ToLongFunction<Entry> f) implements Part {
    @Override
    public Object value(Entry e) {
      return f.applyAsLong(e);
    }

    @Override
    public void append(Entry e, StringBuilder sb) {
      sb.append(f.applyAsLong(e));
    }
  }

  /** A text value, appended as it is ({@code -} for none). */
  private record Text(Function<Entry, String> f) implements Part {
    @Override
    public Object value(Entry e) {
      return f.apply(e);
    }

    @Override
    public void append(Entry e, StringBuilder sb) {
      String v = f.apply(e);
      sb.append(v == null ? "-" : v);
    }
  }

  /** An address, appended as {@code host:port} without a string of its own. */
  private record Address(Function<Entry, SocketAddress> f) implements Part {
    @Override
    public Object value(Entry e) {
      return Entry.address(f.apply(e));
    }

    @Override
    public void append(Entry e, StringBuilder sb) {
      SocketAddress a = f.apply(e);
      if (a == null) {
        sb.append('-');
      } else if (a.path() != null) {
        sb.append(a.path());
      } else {
        sb.append(a.host()).append(':').append(a.port());
      }
    }
  }

  /** START_TIME, formatted once per millisecond per thread. */
  private static final class StartTime implements Part {
    /** The last millisecond a thread formatted, and its text. */
    private static final class Last {
      long millis = -1;
      String text;
    }

    private static final ThreadLocal<Last> LAST = ThreadLocal.withInitial(Last::new);

    @Override
    public Object value(Entry e) {
      Last last = LAST.get();
      long ms = e.startMillis();
      if (last.millis != ms) {
        last.millis = ms;
        last.text = START_TIME.format(Instant.ofEpochMilli(ms));
      }
      return last.text;
    }

    @Override
    public void append(Entry e, StringBuilder sb) {
      sb.append((String) value(e));
    }
  }

  private static final DateTimeFormatter START_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private final List<Part> text;
  private final Map<String, List<Part>> json;
  private final IntPredicate filter;
  private final AccessLogWriter writer;

  private AccessLog(
      List<Part> text, Map<String, List<Part>> json, IntPredicate filter, AccessLogWriter writer) {
    this.text = text;
    this.json = json;
    this.filter = filter;
    this.writer = writer;
  }

  /**
   * Compiles an access log entry of a connection manager.
   *
   * @throws IllegalArgumentException naming what qmesh cannot run (an unknown logger, operator or
   *     filter)
   */
  public static AccessLog compile(io.envoyproxy.envoy.config.accesslog.v3.AccessLog log) {
    if (!log.getTypedConfig().is(FileAccessLog.class)) {
      throw new IllegalArgumentException(
          "access log " + log.getName() + ": only envoy.access_loggers.file is supported");
    }
    FileAccessLog file;
    try {
      file = log.getTypedConfig().unpack(FileAccessLog.class);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("access log does not decode: " + e.getMessage());
    }
    IntPredicate filter = status -> true;
    if (log.hasFilter()) {
      if (!log.getFilter().hasStatusCodeFilter()) {
        throw new IllegalArgumentException(
            "access log filter " + log.getFilter().getFilterSpecifierCase() + " is not supported");
      }
      ComparisonFilter c = log.getFilter().getStatusCodeFilter().getComparison();
      int v = c.getValue().getDefaultValue();
      filter =
          switch (c.getOp()) {
            case GE -> status -> status >= v;
            case LE -> status -> status <= v;
            case EQ -> status -> status == v;
            default -> throw new IllegalArgumentException("comparison " + c.getOp());
          };
    }
    var format = file.getLogFormat();
    String path = file.getPath().isEmpty() ? "/dev/stdout" : file.getPath();
    if (format.hasJsonFormat()) {
      Map<String, List<Part>> json = new LinkedHashMap<>();
      format
          .getJsonFormat()
          .getFieldsMap()
          .forEach((k, v) -> json.put(k, parse(v.getStringValue())));
      return new AccessLog(null, json, filter, AccessLogWriter.of(path));
    }
    String text =
        format.hasTextFormatSource()
            ? format.getTextFormatSource().getInlineString()
            : !format.getTextFormat().isEmpty() ? format.getTextFormat() : DEFAULT_FORMAT;
    return new AccessLog(parse(text), null, filter, AccessLogWriter.of(path));
  }

  /** Envoy's own default format, for a file logger that names none. */
  static final String DEFAULT_FORMAT =
      "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
          + "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
          + "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" "
          + "\"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" "
          + "\"%UPSTREAM_HOST%\"\n";

  /** Logs a finished request, when the filter lets it through. */
  public void log(Entry e) {
    if (filter.test(e.status())) {
      writer.write(this, e);
    }
  }

  /** The line for one request (with its newline for JSON; a text format brings its own). */
  public String render(Entry e) {
    StringBuilder sb = new StringBuilder(256);
    renderInto(e, sb);
    return sb.toString();
  }

  /** Appends the line for one request to {@code sb}. */
  void renderInto(Entry e, StringBuilder sb) {
    if (text != null) {
      for (Part p : text) {
        p.append(e, sb);
      }
      return;
    }
    sb.append('{');
    boolean first = true;
    for (var field : json.entrySet()) {
      if (!first) {
        sb.append(',');
      }
      first = false;
      quote(sb, field.getKey());
      sb.append(':');
      List<Part> parts = field.getValue();
      if (parts.size() == 1 && !(parts.get(0) instanceof Literal)) {
        Object v = parts.get(0).value(e);
        if (v == null) {
          sb.append("null");
        } else if (v instanceof Number) {
          sb.append(v);
        } else {
          quote(sb, v.toString());
        }
      } else {
        StringBuilder value = new StringBuilder();
        for (Part p : parts) {
          Object v = p.value(e);
          value.append(v == null ? "-" : v);
        }
        quote(sb, value.toString());
      }
    }
    sb.append("}\n");
  }

  private static void quote(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }

  private record Literal(String text) implements Part {
    @Override
    public Object value(Entry e) {
      return text;
    }

    @Override
    public void append(Entry e, StringBuilder sb) {
      sb.append(text);
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
      if (literal.length() > 0) {
        out.add(new Literal(literal.toString()));
        literal.setLength(0);
      }
      out.add(operator(format.substring(i + 1, end)));
      i = end + 1;
    }
    if (literal.length() > 0) {
      out.add(new Literal(literal.toString()));
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
    Part p = part(name, arg, op);
    if (max < 0) {
      return p;
    }
    int limit = max;
    return e -> {
      Object v = p.value(e);
      return v instanceof String s && s.length() > limit ? s.substring(0, limit) : v;
    };
  }

  private static Part part(String name, String arg, String op) {
    switch (name) {
      case "REQ":
        return header(arg, Entry::requestHeader);
      case "RESP":
        return header(arg, Entry::responseHeader);
      case "START_TIME":
        return new StartTime();
      case "PROTOCOL":
        return new Text(Entry::protocol);
      case "RESPONSE_CODE":
        return new Count(Entry::status);
      case "RESPONSE_FLAGS":
        return new Text(Entry::flags);
      case "RESPONSE_CODE_DETAILS":
        return new Text(Entry::details);
      case "BYTES_RECEIVED":
        return new Count(Entry::bytesReceived);
      case "BYTES_SENT":
        return new Count(Entry::bytesSent);
      case "DURATION":
        return new Count(Entry::durationMillis);
      case "UPSTREAM_HOST":
        return new Text(Entry::upstreamHost);
      case "UPSTREAM_CLUSTER":
      case "UPSTREAM_CLUSTER_RAW":
        return new Text(Entry::upstreamCluster);
      case "UPSTREAM_LOCAL_ADDRESS":
        return new Address(Entry::upstreamLocalAddress);
      case "DOWNSTREAM_LOCAL_ADDRESS":
        return new Address(Entry::downstreamLocalAddress);
      case "DOWNSTREAM_REMOTE_ADDRESS":
      case "DOWNSTREAM_PEER_ADDRESS":
        return new Address(Entry::downstreamRemoteAddress);
      case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
        return new Text(e -> withoutPort(e.downstreamRemoteAddress()));
      case "ROUTE_NAME":
        return new Text(Entry::routeName);
      case "CONNECTION_TERMINATION_DETAILS":
      case "UPSTREAM_TRANSPORT_FAILURE_REASON":
      case "REQUESTED_SERVER_NAME":
        // Known to Envoy and not set by this proxy (no TLS yet, no termination details): '-'.
        return e -> null;
      case "HOSTNAME":
        {
          String host = hostname();
          return e -> host;
        }
      default:
        throw new IllegalArgumentException(
            "access log format: unsupported command operator %" + op + "%");
    }
  }

  /** {@code %REQ(NAME?ALTERNATIVE)%} or {@code %RESP(...)%}: the first of the two that is set. */
  private static Part header(String arg, BiFunction<Entry, CharSequence, String> get) {
    CharSequence[] alt = headerNames(arg);
    return new Text(
        e -> {
          String v = get.apply(e, alt[0]);
          return v == null && alt.length > 1 ? get.apply(e, alt[1]) : v;
        });
  }

  /** The names of {@code NAME?ALTERNATIVE}, lower case, with their hashes computed once. */
  private static CharSequence[] headerNames(String arg) {
    if (arg == null || arg.isEmpty()) {
      throw new IllegalArgumentException("access log format: REQ/RESP need a header name");
    }
    String[] alt = arg.split("\\?", 2);
    CharSequence[] names = new CharSequence[alt.length];
    for (int i = 0; i < alt.length; i++) {
      names[i] = AsciiString.cached(alt[i].toLowerCase(java.util.Locale.ROOT));
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
