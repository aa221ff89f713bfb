package io.qmesh.proxy.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.vertx.core.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The access log line as bytes: each operator's text, exactly, and the file it ends up in. */
public class AccessLogTest {

  @TempDir Path tmp;

  /** One finished request, as the proxy's entry shows it. */
  record Request(
      long startMillis,
      Map<String, String> request,
      Map<String, String> response,
      int status,
      String flags,
      long bytesReceived,
      long durationMillis,
      String upstreamHost,
      String upstreamCluster,
      SocketAddress upstreamLocalAddress,
      String routeName)
      implements AccessLog.Entry {

    @Override
    public String requestHeader(CharSequence name) {
      return request.get(name.toString());
    }

    @Override
    public String responseHeader(CharSequence name) {
      return response.get(name.toString());
    }

    @Override
    public String protocol() {
      return "HTTP/1.1";
    }

    @Override
    public String details() {
      return "via_upstream";
    }

    @Override
    public long bytesSent() {
      return 13;
    }

    @Override
    public SocketAddress downstreamLocalAddress() {
      return SocketAddress.inetSocketAddress(15001, "127.0.0.1");
    }

    @Override
    public SocketAddress downstreamRemoteAddress() {
      return SocketAddress.inetSocketAddress(40112, "127.0.0.1");
    }
  }

  private static final long T = Instant.parse("2026-11-26T10:15:30.123Z").toEpochMilli();

  private static Request request(long start, Map<String, String> headers) {
    return new Request(
        start,
        headers,
        Map.of("x-envoy-upstream-service-time", "2"),
        200,
        "-",
        0,
        3,
        "10.0.0.7:9080",
        "outbound|9080|v1|reviews.default.svc.cluster.local",
        SocketAddress.inetSocketAddress(51234, "10.0.0.1"),
        null);
  }

  private AccessLog log(String format) {
    return AccessLog.compile(
        io.envoyproxy.envoy.config.accesslog.v3.AccessLog.newBuilder()
            .setName("envoy.access_loggers.file")
            .setTypedConfig(
                com.google.protobuf.Any.pack(
                    FileAccessLog.newBuilder()
                        .setPath(tmp.resolve("access.log").toString())
                        .setLogFormat(
                            SubstitutionFormatString.newBuilder()
                                .setTextFormatSource(
                                    io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
                                        .setInlineString(format)))
                        .build()))
            .build());
  }

  @Test
  void istiosDefaultFormatRendersEveryOperator() {
    AccessLog log = log(ISTIO_TEXT);
    Request r =
        request(
            T,
            Map.of(
                ":method", "GET",
                ":path", "/reviews/0",
                "user-agent", "curl/8.5",
                "x-request-id", "5f0c",
                ":authority", "reviews:9080"));
    assertThat(log.render(r))
        .isEqualTo(
            "[2026-11-26T10:15:30.123Z] \"GET /reviews/0 HTTP/1.1\" 200 - via_upstream - \"-\" 0"
                + " 13 3 2 \"-\" \"curl/8.5\" \"5f0c\" \"reviews:9080\" \"10.0.0.7:9080\""
                + " outbound|9080|v1|reviews.default.svc.cluster.local 10.0.0.1:51234"
                + " 127.0.0.1:15001 127.0.0.1:40112 - -\n");
  }

  @Test
  void startTimeFollowsEachMillisecondAndSecond() {
    AccessLog log = log("%START_TIME%|");
    long[] starts = {T, T, T + 1, T + 876, T + 877, T + 1000, T - 123 + 60_000, T - 2000};
    var full =
        java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(java.time.ZoneOffset.UTC);
    StringBuilder got = new StringBuilder();
    StringBuilder want = new StringBuilder();
    for (long s : starts) {
      got.append(log.render(request(s, Map.of())));
      want.append(full.format(Instant.ofEpochMilli(s))).append('|');
    }
    assertThat(got.toString())
        .isEqualTo(want.toString())
        .contains("T10:15:30.124Z|2026-11-26T10:15:30.999Z|2026-11-26T10:15:31.000Z|")
        .endsWith("10:16:30.000Z|2026-11-26T10:15:28.123Z|");
  }

  @Test
  void headerValuesKeepTheirBytesAndOwnTextIsUtf8() throws Exception {
    // HTTP decodes each header byte to one char: 0xE9 arrives as '\u00e9' and is logged as 0xE9,
    // as Envoy logs the bytes it received. A route name of our own is UTF-8.
    AccessLog log = log("%REQ(USER-AGENT)% %ROUTE_NAME% %REQ(USER-AGENT):3%\n");
    Request r =
        new Request(
            T,
            Map.of("user-agent", "caf\u00e9"),
            Map.of(),
            200,
            "-",
            0,
            0,
            null,
            null,
            null,
            "r\u00e9sum\u00e9");
    LineBuffer out = new LineBuffer(4);
    log.renderInto(r, out, new LogFormat.Scratch());
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    out.writeTo(bytes);
    byte[] want =
        concat(
            new byte[] {'c', 'a', 'f', (byte) 0xE9, ' '},
            "r\u00e9sum\u00e9".getBytes(StandardCharsets.UTF_8),
            new byte[] {' ', 'c', 'a', 'f', '\n'});
    assertThat(bytes.toByteArray()).isEqualTo(want);
  }

  /**
   * Addresses are kept as text per object: many connections' addresses through one thread's scratch
   * (more than it has slots, so they evict each other), each printed as its own, again and again.
   */
  @Test
  void eachConnectionsAddressPrintsItselfThroughTheThreadsCache() {
    AccessLog log = log("%UPSTREAM_LOCAL_ADDRESS%");
    LogFormat.Scratch scratch = new LogFormat.Scratch();
    java.util.List<SocketAddress> addresses = new java.util.ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      addresses.add(
          i % 100 == 0
              ? SocketAddress.domainSocketAddress("/run/app-" + i + ".sock")
              : SocketAddress.inetSocketAddress(20000 + i, "10.0." + (i / 250) + "." + i % 250));
    }
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < addresses.size(); i++) {
        SocketAddress a = addresses.get((i * 7 + round) % addresses.size());
        Request r = new Request(T, Map.of(), Map.of(), 200, "-", 0, 0, null, null, a, null);
        LineBuffer out = new LineBuffer(8);
        log.renderInto(r, out, scratch);
        assertThat(out.toString())
            .isEqualTo(a.path() != null ? a.path() : a.host() + ":" + a.port());
      }
    }
  }

  @Test
  void theAddressesOfAProxysConnectionsStayInTheThreadsCache() {
    AccessLog log = log("%UPSTREAM_LOCAL_ADDRESS%");
    LogFormat.Scratch scratch = new LogFormat.Scratch();
    // 150 connections' addresses, taking turns as a load generator's connections do.
    java.util.List<SocketAddress> addresses = new java.util.ArrayList<>();
    for (int i = 0; i < 150; i++) {
      addresses.add(SocketAddress.inetSocketAddress(30000 + i, "127.0.0.1"));
    }
    for (int round = 0; round < 10; round++) {
      for (SocketAddress known : addresses) {
        // A new object for the same address each time, as Vert.x hands them out.
        SocketAddress a = SocketAddress.inetSocketAddress(known.port(), new String("127.0.0.1"));
        Request r = new Request(T, Map.of(), Map.of(), 200, "-", 0, 0, null, null, a, null);
        LineBuffer out = new LineBuffer(8);
        log.renderInto(r, out, scratch);
        assertThat(out.toString()).isEqualTo("127.0.0.1:" + known.port());
      }
    }
    // The first round formats each address once; of the 1350 lookups after it, at most 10% miss
    // (keyed by identity, as the table was, every one did).
    assertThat(scratch.misses).isLessThan(150 + 135);
  }

  @Test
  void numbersAndAbsentValues() {
    AccessLog log = log("%BYTES_RECEIVED% %DURATION% %UPSTREAM_HOST% %UPSTREAM_LOCAL_ADDRESS%");
    for (long n : new long[] {0, 7, 10, 99, 1234567890123L, Long.MAX_VALUE}) {
      Request r = new Request(T, Map.of(), Map.of(), 200, "-", n, 0, null, null, null, null);
      assertThat(log.render(r)).isEqualTo(n + " 0 - -");
    }
  }

  @Test
  void linesReachTheFileAsRendered() throws Exception {
    AccessLog log = log("%REQ(:METHOD)% %REQ(USER-AGENT)% %RESPONSE_CODE%\n");
    for (int i = 0; i < 1000; i++) {
      log.log(request(T, Map.of(":method", "GET", "user-agent", "n" + i)));
    }
    Path file = tmp.resolve("access.log");
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .until(() -> Files.exists(file) && Files.readAllLines(file).size() == 1000);
    var lines = Files.readAllLines(file);
    for (int i = 0; i < 1000; i++) {
      assertThat(lines.get(i)).isEqualTo("GET n" + i + " 200");
    }
  }

  @Test
  void aBusyThreadsLinesAreWrittenAt64KiBWithoutWaitingForTheInterval() throws Exception {
    AccessLog log = log("%REQ(USER-AGENT)%\n");
    Path file = tmp.resolve("busy.log");
    // An interval no test outlives: only the 64 KiB mark can get these lines out.
    AccessLogWriter writer =
        new AccessLogWriter(
            file.toString(), java.time.Duration.ofHours(1).toMillis(), AccessLogWriter.POLL_MILLIS);
    String pad = "x".repeat(95);
    int n = writeOverFlushBytes(writer, log, pad);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .until(() -> Files.exists(file) && Files.size(file) >= AccessLogWriter.FLUSH_BYTES);
    var lines = Files.readAllLines(file);
    assertThat(lines.size()).isBetween(AccessLogWriter.FLUSH_BYTES / 100, n);
    for (int i = 0; i < lines.size(); i++) {
      assertThat(lines.get(i)).isEqualTo(String.format("%04d", i) + pad);
    }
  }

  @Test
  void whileLinesComeFastTheWriterPollsAndIsNotWoken() throws Exception {
    AccessLog log = log("%REQ(USER-AGENT)%\n");
    Path file = tmp.resolve("polled.log");
    // Intervals no test outlives: the first 64 KiB wake the writer, which then polls.
    long hour = java.time.Duration.ofHours(1).toMillis();
    AccessLogWriter writer = new AccessLogWriter(file.toString(), hour, hour);
    writeOverFlushBytes(writer, log, "x".repeat(95));
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .until(writer::polling);
    assertThat(writer.wakeups()).isEqualTo(1);

    // Another 64 KiB: no futex call from the event loop; the writer's poll takes them.
    writeOverFlushBytes(writer, log, "x".repeat(95));
    assertThat(writer.wakeups()).isEqualTo(1);
  }

  /** Lines of 100 bytes (a number, then {@code pad}), just over 64 KiB of them; how many. */
  private static int writeOverFlushBytes(AccessLogWriter writer, AccessLog log, String pad) {
    int n = AccessLogWriter.FLUSH_BYTES / 100 + 50;
    for (int i = 0; i < n; i++) {
      writer.write(log, request(T, Map.of("user-agent", String.format("%04d", i) + pad)));
    }
    return n;
  }

  private static byte[] concat(byte[]... parts) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** Istio's default access log format (its mesh config's), as pilot writes it. */
  public static final String ISTIO_TEXT =
      "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
          + "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% "
          + "%CONNECTION_TERMINATION_DETAILS% \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" "
          + "%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "
          + "\"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" "
          + "\"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW% "
          + "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
          + "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";
}
