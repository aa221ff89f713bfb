package io.qmesh.proxy.listener;

import static io.qmesh.proxy.listener.TestXds.cla;
import static io.qmesh.proxy.listener.TestXds.routes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.grpc.CallOptions;
import io.grpc.HttpConnectProxiedSocketAddress;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.xds.XdsResources;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.NetServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The proxy's protocols over real sockets: HTTP/2 in clear text on both sides, the response's
 * trailers, gRPC unary and bidirectional streaming with statuses and deadlines through a CONNECT
 * tunnel (as a laptop app's grpc-java client with an HTTP proxy sends them), plain TCP through
 * CONNECT, and the inbound "downstream's protocol" clusters.
 */
class ProtocolsTest {

  private static final java.util.concurrent.atomic.AtomicInteger FLAKY =
      new java.util.concurrent.atomic.AtomicInteger();

  private static final MethodDescriptor.Marshaller<byte[]> BYTES =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };
  private static final MethodDescriptor<byte[], byte[]> UNARY =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("test.Echo/Unary")
          .setRequestMarshaller(BYTES)
          .setResponseMarshaller(BYTES)
          .build();
  private static final MethodDescriptor<byte[], byte[]> STREAM =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
          .setFullMethodName("test.Echo/Stream")
          .setRequestMarshaller(BYTES)
          .setResponseMarshaller(BYTES)
          .build();

  private static Vertx vertx;
  private static HttpServer httpBackend;
  private static NetServer tcpBackend;
  private static Server grpcBackend;
  private static final io.micrometer.core.instrument.simple.SimpleMeterRegistry METRICS =
      new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
  private static int proxyPort;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    httpBackend =
        await(
            vertx
                .createHttpServer(
                    new HttpServerOptions()
                        .setHttp2ClearTextEnabled(true)
                        .setWebSocketSubProtocols(List.of("echo.v1")))
                .webSocketHandler(
                    ws -> {
                      String path = ws.path();
                      ws.textMessageHandler(
                          m -> ws.writeTextMessage(m + " via " + path + " as " + ws.subProtocol()));
                      ws.binaryMessageHandler(ws::writeBinaryMessage);
                    })
                .requestHandler(
                    req ->
                        req.body()
                            .onSuccess(
                                body -> {
                                  if (req.path().equals("/reset")) {
                                    // An upstream that resets the stream after the whole
                                    // request, as a gRPC server whose deadline passed.
                                    req.response().reset();
                                    return;
                                  }
                                  if (req.path().equals("/fixed")) {
                                    // A body of declared length (no chunks, no trailers).
                                    req.response().end("a body of known length");
                                    return;
                                  }
                                  var resp = req.response().setChunked(true);
                                  resp.write(
                                      req.version()
                                          + " authority="
                                          + req.authority()
                                          + " te="
                                          + req.getHeader("te")
                                          + " transfer-encoding="
                                          + req.getHeader("transfer-encoding")
                                          + " body="
                                          + body.length());
                                  resp.trailers().add("x-checksum", "done");
                                  resp.end();
                                }))
                .listen(0, "127.0.0.1"));
    tcpBackend =
        await(
            vertx
                .createNetServer()
                .connectHandler(
                    s -> {
                      s.write("hello from tcp\n");
                      s.handler(s::write);
                    })
                .listen(0, "127.0.0.1"));
    grpcBackend =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                ServerServiceDefinition.builder("test.Echo")
                    .addMethod(
                        UNARY,
                        ServerCalls.asyncUnaryCall(
                            (byte[] req, StreamObserver<byte[]> out) -> {
                              String text = new String(req, StandardCharsets.UTF_8);
                              if (text.equals("down")
                                  || (text.equals("flaky") && FLAKY.getAndIncrement() % 2 == 0)) {
                                out.onError(
                                    Status.UNAVAILABLE.withDescription("try again").asException());
                              } else if (text.equals("missing")) {
                                out.onError(
                                    Status.NOT_FOUND
                                        .withDescription("no such thing")
                                        .asException());
                              } else if (text.equals("slow")) {
                                vertx.setTimer(
                                    2_000,
                                    t -> {
                                      out.onNext(req);
                                      out.onCompleted();
                                    });
                              } else {
                                out.onNext(("echo " + text).getBytes(StandardCharsets.UTF_8));
                                out.onCompleted();
                              }
                            }))
                    .addMethod(
                        STREAM,
                        ServerCalls.asyncBidiStreamingCall(
                            (StreamObserver<byte[]> out) ->
                                new StreamObserver<byte[]>() {
                                  @Override
                                  public void onNext(byte[] value) {
                                    out.onNext(
                                        ("got " + new String(value, StandardCharsets.UTF_8))
                                            .getBytes(StandardCharsets.UTF_8));
                                  }

                                  @Override
                                  public void onError(Throwable t) {}

                                  @Override
                                  public void onCompleted() {
                                    out.onCompleted();
                                  }
                                }))
                    .build())
            .build()
            .start();

    ProxyConfig config =
        ProxyConfig.compile(
            new XdsResources(
                Map.of("0.0.0.0_9090", tcpListener(9090, "tcp-echo")),
                Map.of(
                    "7070", TestXds.withIstioRetries(routes("7070", "grpc", "grpc-echo")),
                    "8080", routes("8080", "web", "h2-web"),
                    "8081", routes("8081", "web1", "h1-web"),
                    "9080", routes("9080", "downstream", "same-as-downstream")),
                Map.of(
                    "grpc-echo", cluster("grpc-echo", http2()),
                    "h2-web", cluster("h2-web", http2()),
                    "h1-web", cluster("h1-web", null),
                    "same-as-downstream", cluster("same-as-downstream", downstream()),
                    "tcp-echo", cluster("tcp-echo", null)),
                Map.of(
                    "grpc-echo", cla("grpc-echo", grpcBackend.getPort()),
                    "h2-web", cla("h2-web", httpBackend.actualPort()),
                    "h1-web", cla("h1-web", httpBackend.actualPort()),
                    "same-as-downstream", cla("same-as-downstream", httpBackend.actualPort()),
                    "tcp-echo", cla("tcp-echo", tcpBackend.actualPort()))));
    proxyPort =
        await(
                HttpProxy.outbound(vertx, () -> config)
                    .reporting(
                        new io.qmesh.proxy.telemetry.IstioMetrics(
                            METRICS,
                            io.qmesh.proxy.telemetry.IstioMetrics.Reporter.SOURCE,
                            io.qmesh.proxy.telemetry.Peer.of(
                                "client-v1", "default", Map.of("app", "client"), null),
                            "sidecar~127.0.0.1~client-v1-1.default~default.svc.cluster.local"))
                    .listen("127.0.0.1", 0))
            .actualPort();
  }

  @AfterAll
  static void stop() throws Exception {
    grpcBackend.shutdownNow();
    await(vertx.close());
  }

  @Test
  void http2BothWaysWithTrailers() throws Exception {
    var client = h2cClient();
    Answer a =
        send(
            client,
            new RequestOptions()
                .setServer(proxy())
                .setHost("web")
                .setPort(8080)
                .setURI("/")
                .putHeader("te", "trailers"));
    assertThat(a.response().version()).isEqualTo(HttpVersion.HTTP_2);
    assertThat(a.body()).startsWith("HTTP_2 ").contains("te=trailers");
    assertThat(a.response().trailers().get("x-checksum")).isEqualTo("done");
  }

  @Test
  void anHttp2RequestWithoutALengthReachesAnHttp11ClusterChunkedOnlyWhenABodyFollows()
      throws Exception {
    var client = h2cClient();
    RequestOptions post =
        new RequestOptions()
            .setServer(proxy())
            .setMethod(io.vertx.core.http.HttpMethod.POST)
            .setHost("web1")
            .setPort(8081)
            .setURI("/");
    // A body in two DATA frames, no content-length: HTTP/2 does not say one follows.
    Answer streamed =
        await(
            client
                .request(post)
                .compose(
                    r -> {
                      // Vert.x asks it of HTTP/2 too; it sends no transfer-encoding there.
                      r.setChunked(true);
                      r.write("hello, ");
                      return r.end("world")
                          .compose(v -> r.response())
                          .compose(resp -> resp.body().map(b -> new Answer(resp, b.toString())));
                    }));
    assertThat(streamed.response().statusCode()).isEqualTo(200);
    assertThat(streamed.body())
        .startsWith("HTTP_1_1 authority=web1:8081")
        .contains("transfer-encoding=chunked body=12");
    // No body at all: no chunked framing either (an empty chunked body would do, but is not what
    // an HTTP/1.1 client sends).
    Answer empty =
        send(client, new RequestOptions(post).setMethod(io.vertx.core.http.HttpMethod.GET));
    assertThat(empty.response().statusCode()).isEqualTo(200);
    assertThat(empty.body()).startsWith("HTTP_1_1 ").contains("transfer-encoding=null body=0");
  }

  @Test
  void anHttp11AnswerOfKnownLengthReachesAnHttp2ClientAsHeadersAndOneFinalDataFrame()
      throws Exception {
    // The answer's last chunk ends the stream with it: without that, its DATA frame went out, and
    // then an empty one with END_STREAM, each flushed in a system call of its own.
    List<String> frames = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Void> ended = new CompletableFuture<>();
    io.netty.channel.EventLoopGroup group = new io.netty.channel.nio.NioEventLoopGroup(1);
    try {
      var recorder =
          new io.netty.handler.codec.http2.Http2ChannelDuplexHandler() {
            @Override
            public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
              if (msg instanceof io.netty.handler.codec.http2.Http2HeadersFrame h) {
                frames.add("HEADERS " + h.headers().status() + " end=" + h.isEndStream());
              } else if (msg instanceof io.netty.handler.codec.http2.Http2DataFrame d) {
                frames.add("DATA " + d.content().readableBytes() + " end=" + d.isEndStream());
              }
              if ((msg instanceof io.netty.handler.codec.http2.Http2HeadersFrame h
                      && h.isEndStream())
                  || (msg instanceof io.netty.handler.codec.http2.Http2DataFrame d
                      && d.isEndStream())) {
                ended.complete(null);
              }
              io.netty.util.ReferenceCountUtil.release(msg);
            }
          };
      io.netty.channel.Channel channel =
          new io.netty.bootstrap.Bootstrap()
              .group(group)
              .channel(io.netty.channel.socket.nio.NioSocketChannel.class)
              .handler(
                  new io.netty.channel.ChannelInitializer<>() {
                    @Override
                    protected void initChannel(io.netty.channel.Channel c) {
                      c.pipeline()
                          .addLast(
                              io.netty.handler.codec.http2.Http2FrameCodecBuilder.forClient()
                                  .build(),
                              recorder);
                    }
                  })
              .connect("127.0.0.1", proxyPort)
              .sync()
              .channel();
      var headers =
          new io.netty.handler.codec.http2.DefaultHttp2Headers()
              .method("GET")
              .scheme("http")
              .authority("web1:8081")
              .path("/fixed");
      channel
          .eventLoop()
          .submit(
              () ->
                  channel.writeAndFlush(
                      new io.netty.handler.codec.http2.DefaultHttp2HeadersFrame(headers, true)
                          .stream(recorder.newStream())))
          .sync();
      ended.get(10, TimeUnit.SECONDS);
      channel.close().sync();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
    assertThat(frames).hasSize(2);
    assertThat(frames.get(0)).isEqualTo("HEADERS 200 end=false");
    assertThat(frames.get(1)).isEqualTo("DATA 22 end=true");
  }

  @Test
  void aFailureAnswerToAFinishedGrpcRequestLeavesItsHttp2ConnectionUp() throws Exception {
    // The client has sent its whole request when the upstream resets: the proxy's 503 ends the
    // stream as it is written, which runs the request's close handler inside the write. That
    // handler once read the response's trailers for the gRPC status, creating them, and the write
    // then sent them on the closed stream: Netty took the whole connection down (GOAWAY
    // PROTOCOL_ERROR), and every other stream on it with it.
    var client = h2cClient();
    RequestOptions reset =
        new RequestOptions()
            .setServer(proxy())
            .setMethod(io.vertx.core.http.HttpMethod.POST)
            .setHost("web")
            .setPort(8080)
            .setURI("/reset")
            .putHeader("content-type", "application/grpc")
            .putHeader("te", "trailers");
    for (int i = 0; i < 3; i++) {
      io.vertx.core.http.HttpConnection[] connection = new io.vertx.core.http.HttpConnection[1];
      boolean[] closed = {false};
      Answer failed =
          await(
              client
                  .request(reset)
                  .compose(
                      r -> {
                        connection[0] = r.connection();
                        r.connection().closeHandler(v -> closed[0] = true);
                        return r.send(
                                io.vertx.core.buffer.Buffer.buffer(new byte[] {0, 0, 0, 0, 1, 42}))
                            .compose(resp -> resp.body().map(b -> new Answer(resp, b.toString())));
                      }));
      assertThat(failed.response().statusCode()).isEqualTo(503);
      assertThat(failed.body()).contains("(UC)");
      Answer next =
          send(
              client,
              new RequestOptions().setServer(proxy()).setHost("web").setPort(8080).setURI("/"));
      assertThat(next.body()).startsWith("HTTP_2 ");
      assertThat(closed[0]).as("the connection closed").isFalse();
      assertThat(next.response().request().connection()).isSameAs(connection[0]);
    }
  }

  @Test
  void inboundClustersSpeakTheDownstreamsProtocol() throws Exception {
    for (HttpVersion v : List.of(HttpVersion.HTTP_1_1, HttpVersion.HTTP_2)) {
      var client =
          vertx.createHttpClient(
              new HttpClientOptions().setProtocolVersion(v).setHttp2ClearTextUpgrade(false));
      Answer a =
          send(
              client,
              new RequestOptions()
                  .setServer(proxy())
                  .setHost("downstream")
                  .setPort(9080)
                  .setURI("/"));
      assertThat(a.body()).startsWith(v.name() + " ");
    }
  }

  @Test
  void webSocketsAreRelayedWithTheirSubprotocol() throws Exception {
    var client = vertx.createHttpClient();
    var ws =
        await(
            client.webSocket(
                new WebSocketConnectOptions()
                    .setHost("127.0.0.1")
                    .setPort(proxyPort)
                    .putHeader("host", "downstream:9080")
                    .setURI("/chat")
                    .setSubProtocols(List.of("echo.v1"))));
    assertThat(ws.subProtocol()).isEqualTo("echo.v1");
    CompletableFuture<String> text = new CompletableFuture<>();
    CompletableFuture<byte[]> binary = new CompletableFuture<>();
    CompletableFuture<Short> closed = new CompletableFuture<>();
    ws.textMessageHandler(text::complete);
    ws.binaryMessageHandler(b -> binary.complete(b.getBytes()));
    ws.closeHandler(v -> closed.complete(ws.closeStatusCode()));
    ws.writeTextMessage("hi");
    assertThat(text.get(10, TimeUnit.SECONDS)).isEqualTo("hi via /chat as echo.v1");
    ws.writeBinaryMessage(io.vertx.core.buffer.Buffer.buffer(new byte[] {1, 2, 3}));
    assertThat(binary.get(10, TimeUnit.SECONDS)).containsExactly(1, 2, 3);
    await(ws.close((short) 4000, "done"));
    assertThat(closed.get(10, TimeUnit.SECONDS)).isEqualTo((short) 4000);
  }

  @Test
  void grpcThroughAConnectTunnel() throws Exception {
    ManagedChannel channel = grpcChannel();
    try {
      byte[] answer =
          ClientCalls.blockingUnaryCall(
              channel,
              UNARY,
              CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
              "hi".getBytes(StandardCharsets.UTF_8));
      assertThat(new String(answer, StandardCharsets.UTF_8)).isEqualTo("echo hi");

      assertThatThrownBy(
              () ->
                  ClientCalls.blockingUnaryCall(
                      channel,
                      UNARY,
                      CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                      "missing".getBytes(StandardCharsets.UTF_8)))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                assertThat(e.getStatus().getDescription()).isEqualTo("no such thing");
              });
      // Istio's metrics name gRPC calls by protocol and status: HTTP 200 with grpc-status 0, 5.
      for (String status : List.of("0", "5")) {
        org.awaitility.Awaitility.await()
            .atMost(java.time.Duration.ofSeconds(5))
            .untilAsserted(
                () ->
                    assertThat(
                            METRICS
                                .find("istio_requests")
                                .tags(
                                    "request_protocol",
                                    "grpc",
                                    "response_code",
                                    "200",
                                    "grpc_response_status",
                                    status,
                                    "reporter",
                                    "source",
                                    "source_workload",
                                    "client-v1")
                                .counters())
                        .as("istio_requests_total for grpc-status " + status)
                        .isNotEmpty());
      }

      // Istio's default retries: an UNAVAILABLE answer is tried again (the body replayed), and
      // when every try fails the last status reaches the client.
      assertThat(
              new String(
                  ClientCalls.blockingUnaryCall(
                      channel,
                      UNARY,
                      CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                      "flaky".getBytes(StandardCharsets.UTF_8)),
                  StandardCharsets.UTF_8))
          .isEqualTo("echo flaky");
      assertThatThrownBy(
              () ->
                  ClientCalls.blockingUnaryCall(
                      channel,
                      UNARY,
                      CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                      "down".getBytes(StandardCharsets.UTF_8)))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(e.getStatus().getDescription()).isEqualTo("try again");
              });

      assertThatThrownBy(
              () ->
                  ClientCalls.blockingUnaryCall(
                      channel,
                      UNARY,
                      CallOptions.DEFAULT.withDeadlineAfter(300, TimeUnit.MILLISECONDS),
                      "slow".getBytes(StandardCharsets.UTF_8)))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));

      // A stream on the same channel after that deadline: the deadline's reset (by the client and
      // the upstream at once) leaves the connection up.
      List<String> got = Collections.synchronizedList(new ArrayList<>());
      CountDownLatch done = new CountDownLatch(1);
      StreamObserver<byte[]> requests =
          ClientCalls.asyncBidiStreamingCall(
              channel.newCall(STREAM, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)),
              new StreamObserver<>() {
                @Override
                public void onNext(byte[] value) {
                  got.add(new String(value, StandardCharsets.UTF_8));
                }

                @Override
                public void onError(Throwable t) {
                  done.countDown();
                }

                @Override
                public void onCompleted() {
                  done.countDown();
                }
              });
      requests.onNext("one".getBytes(StandardCharsets.UTF_8));
      // The first answer comes back before the client has finished sending: truly streaming.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (got.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(got).containsExactly("got one");
      requests.onNext("two".getBytes(StandardCharsets.UTF_8));
      requests.onCompleted();
      assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(got).containsExactly("got one", "got two");
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void tcpThroughAConnectTunnel() throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxyPort)) {
      s.setSoTimeout(10_000);
      s.getOutputStream()
          .write(
              "CONNECT echo:9090 HTTP/1.1\r\nHost: echo:9090\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      String head = readUntil(s.getInputStream(), "\r\n\r\n");
      assertThat(head).startsWith("HTTP/1.1 200");
      assertThat(readUntil(s.getInputStream(), "\n")).isEqualTo("hello from tcp\n");
      s.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(readUntil(s.getInputStream(), "\n")).isEqualTo("ping\n");
    }
  }

  @Test
  void aConnectToNowhereIsRefusedWithItsFlag() throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxyPort)) {
      s.setSoTimeout(10_000);
      s.getOutputStream()
          .write(
              "CONNECT nowhere:4444 HTTP/1.1\r\nHost: nowhere:4444\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      assertThat(readUntil(s.getInputStream(), "(NR)\n")).startsWith("HTTP/1.1 404");
    }
    try (Socket s = new Socket("127.0.0.1", proxyPort)) {
      s.setSoTimeout(10_000);
      s.getOutputStream()
          .write("CONNECT nowhere HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(readUntil(s.getInputStream(), "\r\n")).startsWith("HTTP/1.1 400");
    }
  }

  /** A response with its whole body, read as it arrives. */
  private record Answer(HttpClientResponse response, String body) {}

  /** An HTTP/2 client with prior knowledge (h2c, no upgrade). */
  private static io.vertx.core.http.HttpClient h2cClient() {
    return vertx.createHttpClient(
        new HttpClientOptions()
            .setProtocolVersion(HttpVersion.HTTP_2)
            .setHttp2ClearTextUpgrade(false));
  }

  /** The proxy's listener, where every request of these tests is sent. */
  private static io.vertx.core.net.SocketAddress proxy() {
    return io.vertx.core.net.SocketAddress.inetSocketAddress(proxyPort, "127.0.0.1");
  }

  /**
   * Sends a request and reads its answer whole. The response's body is asked for in the callback
   * that sends the request, on the event loop: chained from the test's thread, it could be asked
   * for after a quick answer had already gone by (on a pooled connection, the request future can
   * complete before the chain is built), and its body would read empty.
   */
  private static Answer send(io.vertx.core.http.HttpClient client, RequestOptions options)
      throws Exception {
    return await(
        client
            .request(options)
            .compose(
                r ->
                    r.send()
                        .compose(resp -> resp.body().map(b -> new Answer(resp, b.toString())))));
  }

  @Test
  void aTcpListenerPipesToItsClusterAndClosesWhenItCannot() throws Exception {
    ProxyConfig config =
        ProxyConfig.compile(
            new XdsResources(
                Map.of(),
                Map.of(),
                Map.of("inbound|9090||", cluster("inbound|9090||", null)),
                Map.of("inbound|9090||", cla("inbound|9090||", tcpBackend.actualPort()))));
    int port =
        await(
                new io.qmesh.proxy.listener.TcpProxy(vertx, () -> config, "inbound|9090||")
                    .listen("127.0.0.1", 0))
            .actualPort();
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      assertThat(readUntil(s.getInputStream(), "\n")).isEqualTo("hello from tcp\n");
      byte[] big = new byte[200_000];
      java.util.Arrays.fill(big, (byte) 'x');
      s.getOutputStream().write(big);
      assertThat(s.getInputStream().readNBytes(big.length)).isEqualTo(big);
    }
    int nowhere =
        await(
                new io.qmesh.proxy.listener.TcpProxy(vertx, () -> config, "no-such-cluster")
                    .listen("127.0.0.1", 0))
            .actualPort();
    try (Socket s = new Socket("127.0.0.1", nowhere)) {
      s.setSoTimeout(10_000);
      assertThat(s.getInputStream().read()).as("closed at once (NC)").isEqualTo(-1);
    }
  }

  private static ManagedChannel grpcChannel() {
    InetSocketAddress proxy = new InetSocketAddress("127.0.0.1", proxyPort);
    return NettyChannelBuilder.forTarget("dns:///grpc:7070")
        .proxyDetector(
            target ->
                HttpConnectProxiedSocketAddress.newBuilder()
                    .setTargetAddress((InetSocketAddress) target)
                    .setProxyAddress(proxy)
                    .build())
        .usePlaintext()
        .build();
  }

  private static String readUntil(InputStream in, String end) throws IOException {
    StringBuilder b = new StringBuilder();
    while (!b.toString().endsWith(end)) {
      int c = in.read();
      if (c < 0) {
        break;
      }
      b.append((char) c);
    }
    return b.toString();
  }

  private static HttpProtocolOptions http2() {
    return HttpProtocolOptions.newBuilder()
        .setExplicitHttpConfig(
            HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
        .build();
  }

  private static HttpProtocolOptions downstream() {
    return HttpProtocolOptions.newBuilder()
        .setUseDownstreamProtocolConfig(
            HttpProtocolOptions.UseDownstreamHttpConfig.newBuilder()
                .setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance())
                .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
        .build();
  }

  private static Cluster cluster(String name, HttpProtocolOptions options) {
    Cluster.Builder c = TestXds.eds(name);
    if (options != null) {
      c.putTypedExtensionProtocolOptions(
          "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", Any.pack(options));
    }
    return c.build();
  }

  private static Listener tcpListener(int port, String cluster) {
    return TestXds.listener(
            port,
            "envoy.filters.network.tcp_proxy",
            TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build())
        .build();
  }

  private static <T> T await(io.vertx.core.Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
