package io.qmesh.proxy.telemetry;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.accesslog.v3.ComparisonFilter;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.qmesh.proxy.xds.TypedConfigs;
import io.vertx.core.net.SocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * An Envoy file access log ({@code envoy.access_loggers.file}) compiled once per config: the format
 * (text with Envoy's command operators, or JSON whose values are such formats) parsed into parts,
 * the status code filter, and the file it writes to. Logging one request renders its parts and
 * hands the line to the file's writer thread; the request path never writes or waits. Lines are
 * rendered as bytes: literals encoded once, numbers and addresses written as digits, header values
 * as the bytes they came in.
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

  private final LogFormat.Part[] text;
  private final Map<String, List<LogFormat.Part>> json;
  private final IntPredicate filter;
  private final AccessLogWriter writer;

  private AccessLog(
      LogFormat.Part[] text,
      Map<String, List<LogFormat.Part>> json,
      IntPredicate filter,
      AccessLogWriter writer) {
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
    if (!TypedConfigs.is(log.getTypedConfig(), FileAccessLog.getDescriptor())) {
      throw new IllegalArgumentException(
          "access log " + log.getName() + ": only envoy.access_loggers.file is supported");
    }
    FileAccessLog file;
    try {
      file =
          TypedConfigs.unpack(
              log.getTypedConfig(), FileAccessLog.getDescriptor(), FileAccessLog.parser());
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
      Map<String, List<LogFormat.Part>> json = new LinkedHashMap<>();
      format
          .getJsonFormat()
          .getFieldsMap()
          .forEach((k, v) -> json.put(k, LogFormat.parse(v.getStringValue())));
      return new AccessLog(null, json, filter, AccessLogWriter.of(path));
    }
    String text =
        format.hasTextFormatSource()
            ? format.getTextFormatSource().getInlineString()
            : !format.getTextFormat().isEmpty() ? format.getTextFormat() : DEFAULT_FORMAT;
    return new AccessLog(
        LogFormat.parse(text).toArray(LogFormat.Part[]::new),
        null,
        filter,
        AccessLogWriter.of(path));
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
    LineBuffer out = new LineBuffer(256);
    renderInto(e, out, RENDER_SCRATCH.get());
    return out.toString();
  }

  /** {@link #render}'s scratch, per calling thread. */
  private static final ThreadLocal<LogFormat.Scratch> RENDER_SCRATCH =
      ThreadLocal.withInitial(LogFormat.Scratch::new);

  /** A thread's buffer for the JSON format, whose values are quoted as text first. */
  private static final ThreadLocal<StringBuilder> JSON_LINE =
      ThreadLocal.withInitial(() -> new StringBuilder(512));

  /** Appends the line for one request to {@code out}, with the calling thread's scratch. */
  void renderInto(Entry e, LineBuffer out, LogFormat.Scratch scratch) {
    if (text != null) {
      LogFormat.render(text, e, out, scratch);
      return;
    }
    StringBuilder sb = JSON_LINE.get();
    sb.setLength(0);
    sb.append('{');
    boolean first = true;
    for (var field : json.entrySet()) {
      if (!first) {
        sb.append(',');
      }
      first = false;
      quote(sb, field.getKey());
      sb.append(':');
      List<LogFormat.Part> parts = field.getValue();
      if (parts.size() == 1 && parts.get(0).op() != LogFormat.Op.LITERAL) {
        Object v = parts.get(0).value(e, scratch);
        if (v == null) {
          sb.append("null");
        } else if (v instanceof Number) {
          sb.append(v);
        } else {
          quote(sb, v.toString());
        }
      } else {
        StringBuilder value = new StringBuilder();
        for (LogFormat.Part p : parts) {
          Object v = p.value(e, scratch);
          value.append(v == null ? "-" : v);
        }
        quote(sb, value.toString());
      }
    }
    sb.append("}\n");
    out.appendText(sb.toString());
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
}
