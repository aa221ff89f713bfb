package io.qmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.impl.ContextInternal;
import io.vertx.core.impl.VertxInternal;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link Http1Pool} against a real upstream on 127.0.0.1 that records its connections. */
class Http1PoolTest {

  private Vertx vertx;
  private HttpServer upstream;
  private int port;
  private final Set<HttpConnection> opened = ConcurrentHashMap.newKeySet();
  private final AtomicInteger closed = new AtomicInteger();

  @BeforeEach
  void upstream() throws Exception {
    vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    upstream =
        Backends.await(
            vertx
                .createHttpServer()
                .connectionHandler(
                    c -> {
                      opened.add(c);
                      c.closeHandler(v -> closed.incrementAndGet());
                    })
                .requestHandler(
                    req -> {
                      String answer = "from " + req.remoteAddress().port();
                      if (req.path().equals("/close")) {
                        req.response().putHeader("connection", "close").end(answer);
                      } else if (req.path().equals("/early")) {
                        req.response().setStatusCode(413).end();
                      } else if (req.path().equals("/echo")) {
                        req.body()
                            .onSuccess(
                                b ->
                                    req.response()
                                        .setChunked(true)
                                        .putTrailer("x-bytes", String.valueOf(b.length()))
                                        .end(b));
                      } else if (req.path().equals("/slow")) {
                        vertx.setTimer(100, t -> req.response().end(answer));
                      } else {
                        req.response().end(answer);
                      }
                    })
                .listen(0, "127.0.0.1"));
    port = upstream.actualPort();
  }

  @AfterEach
  void close() throws Exception {
    Backends.await(vertx.close());
  }

  private Http1Pool pool(int maxPerHost) {
    return new Http1Pool(vertx, maxPerHost, 60);
  }

  /** What an answer brought: the continues, the status, the body, the trailers, or a failure. */
  static final class Collected implements UpstreamStream.Answer {
    final Promise<String> done = Promise.promise();
    final StringBuilder body = new StringBuilder();
    int continues;
    int status;
    UpstreamStream.Head head;
    io.vertx.core.MultiMap trailers;

    @Override
    public void continued() {
      continues++;
    }

    @Override
    public void head(UpstreamStream.Head head) {
      this.head = head;
      status = head.status();
    }

    @Override
    public void chunk(io.vertx.core.buffer.Buffer data) {
      body.append(data.toString());
    }

    @Override
    public void end(io.vertx.core.MultiMap trailers) {
      this.trailers = trailers;
      done.tryComplete(status + " " + body);
    }

    @Override
    public void failed(Throwable cause) {
      done.tryFail(cause);
    }
  }

  /** A stream from the pool on {@code context}'s event loop, passed to {@code use} there. */
  private Collected exchange(
      Http1Pool pool,
      Context context,
      HttpMethod method,
      int toPort,
      String path,
      java.util.function.Consumer<UpstreamStream> use) {
    Collected answer = new Collected();
    context.runOnContext(
        v -> {
          boolean taken =
              pool.request(
                  method,
                  path,
                  "127.0.0.1",
                  toPort,
                  2000,
                  ar -> {
                    if (ar.failed()) {
                      answer.done.tryFail(ar.cause());
                      return;
                    }
                    UpstreamStream stream = ar.result();
                    stream.headers().set("host", "upstream");
                    stream.answer(answer);
                    use.accept(stream);
                  });
          if (!taken) {
            answer.done.tryFail(new IllegalStateException("not taken"));
          }
        });
    return answer;
  }

  /** A GET on {@code context}'s event loop through the pool: the status and the body. */
  private Future<String> get(Http1Pool pool, Context context, int toPort, String path) {
    return exchange(pool, context, HttpMethod.GET, toPort, path, UpstreamStream::end).done.future();
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void requestsInTurnShareOneConnection() throws Exception {
    Http1Pool pool = pool(4);
    Context context = vertx.getOrCreateContext();
    List<String> answers = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      answers.add(await(get(pool, context, port, "/")));
    }
    assertThat(answers).hasSize(5).allMatch(a -> a.equals(answers.get(0)));
    assertThat(answers.get(0)).startsWith("200 from ");
    assertThat(opened).hasSize(1);
  }

  @Test
  void aHostGetsAtMostMaxPerHostConnectionsAndTheOtherRequestsWait() throws Exception {
    Http1Pool pool = pool(2);
    Context context = vertx.getOrCreateContext();
    List<Future<String>> all = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      all.add(get(pool, context, port, "/slow"));
    }
    Set<String> from = new java.util.HashSet<>();
    for (Future<String> f : all) {
      String answer = await(f);
      assertThat(answer).startsWith("200 ");
      from.add(answer);
    }
    assertThat(from).hasSize(2);
    assertThat(opened).hasSize(2);
  }

  @Test
  void eachEventLoopHasItsOwnConnections() throws Exception {
    Http1Pool pool = pool(4);
    // New event-loop contexts take the loops in turn.
    Context one = ((VertxInternal) vertx).createEventLoopContext();
    Context two = ((VertxInternal) vertx).createEventLoopContext();
    assertThat(((ContextInternal) one).nettyEventLoop())
        .isNotSameAs(((ContextInternal) two).nettyEventLoop());
    String a = await(get(pool, one, port, "/"));
    String b = await(get(pool, two, port, "/"));
    assertThat(await(get(pool, one, port, "/"))).isEqualTo(a);
    assertThat(await(get(pool, two, port, "/"))).isEqualTo(b);
    assertThat(a).isNotEqualTo(b);
    assertThat(opened).hasSize(2);
  }

  @Test
  void aConnectionTheUpstreamClosesIsNotUsedAgain() throws Exception {
    Http1Pool pool = pool(1);
    Context context = vertx.getOrCreateContext();
    String first = await(get(pool, context, port, "/close"));
    String second = await(get(pool, context, port, "/"));
    assertThat(second).startsWith("200 ").isNotEqualTo(first);
    assertThat(opened).hasSize(2);
  }

  @Test
  void anIdleConnectionClosesWhenItsKeepAliveTimePasses() throws Exception {
    Http1Pool pool = new Http1Pool(vertx, 4, 1);
    Context context = vertx.getOrCreateContext();
    String first = await(get(pool, context, port, "/"));
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .untilAsserted(
            () -> assertThat(closed).as("the upstream saw the idle connection close").hasValue(1));
    // The next request opens a new connection.
    assertThat(await(get(pool, context, port, "/"))).startsWith("200 ").isNotEqualTo(first);
  }

  @Test
  void aRefusedConnectionFailsItsRequestAndTheNextConnects() throws Exception {
    int refusing;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      refusing = s.getLocalPort();
    }
    Http1Pool pool = pool(1);
    Context context = vertx.getOrCreateContext();
    assertThatThrownBy(() -> await(get(pool, context, refusing, "/")))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("Connection refused");
    assertThat(await(get(pool, context, port, "/"))).startsWith("200 ");
  }

  @Test
  void aConnectionNotMadeWithinTheTimeoutFailsItsRequest() throws Exception {
    // A listener that accepts nothing, its backlog full: further handshakes get no answer.
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      List<Socket> filling = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          Socket f = new Socket();
          try {
            f.connect(s.getLocalSocketAddress(), 300);
            filling.add(f);
          } catch (java.net.SocketTimeoutException e) {
            f.close();
            break;
          }
        }
        Http1Pool pool = pool(1);
        Context context = vertx.getOrCreateContext();
        CountDownLatch failed = new CountDownLatch(1);
        List<Throwable> cause = new ArrayList<>();
        long start = System.nanoTime();
        context.runOnContext(
            v ->
                pool.request(
                    HttpMethod.GET,
                    "/",
                    "127.0.0.1",
                    s.getLocalPort(),
                    300,
                    ar -> {
                      cause.add(ar.cause());
                      failed.countDown();
                    }));
        assertThat(failed.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(cause.get(0)).isInstanceOf(TimeoutException.class);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(250L, 3000L);
      } finally {
        for (Socket f : filling) {
          f.close();
        }
      }
    }
  }

  @Test
  void offAnEventLoopTheCallerUsesAVertxClient() {
    Http1Pool pool = pool(1);
    assertThat(pool.request(HttpMethod.GET, "/", "127.0.0.1", port, 0, ar -> {})).isFalse();
  }

  @Test
  void aChunkedBodyGoesUpAndTrailersComeBackOnAConnectionKeptForTheNext() throws Exception {
    Http1Pool pool = pool(1);
    Context context = vertx.getOrCreateContext();
    Collected seen =
        exchange(
            pool,
            context,
            HttpMethod.POST,
            port,
            "/echo",
            stream -> {
              stream.chunked(true);
              stream.write(io.vertx.core.buffer.Buffer.buffer("ab"));
              stream.write(io.vertx.core.buffer.Buffer.buffer("cd"));
              stream.end();
            });
    String answer = await(seen.done.future());
    assertThat(answer).isEqualTo("200 abcd");
    assertThat(seen.trailers.get("x-bytes")).isEqualTo("4");
    assertThat(seen.head.header("transfer-encoding")).isEqualTo("chunked");
    assertThat(await(get(pool, context, port, "/"))).startsWith("200 from ");
    assertThat(opened).hasSize(1);
  }

  @Test
  void aHeadAnswerHasNoBodyAndTheConnectionServesTheNextRequest() throws Exception {
    Http1Pool pool = pool(1);
    Context context = vertx.getOrCreateContext();
    Collected seen = exchange(pool, context, HttpMethod.HEAD, port, "/", UpstreamStream::end);
    String head = await(seen.done.future());
    assertThat(head).isEqualTo("200 ");
    assertThat(seen.head.header("content-length")).isNotEqualTo("0");
    assertThat(await(get(pool, context, port, "/"))).startsWith("200 from ");
    assertThat(opened).hasSize(1);
  }

  @Test
  void aResetStreamClosesItsConnectionAndTheNextRequestOpensAnother() throws Exception {
    Http1Pool pool = pool(1);
    Context context = vertx.getOrCreateContext();
    Collected seen =
        exchange(
            pool,
            context,
            HttpMethod.GET,
            port,
            "/slow",
            stream -> {
              stream.end();
              stream.reset();
            });
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .untilAsserted(() -> assertThat(closed).hasValue(1));
    assertThat(await(get(pool, context, port, "/"))).startsWith("200 from ");
    assertThat(opened).hasSize(2);
    // The reset stream's answer went nowhere.
    assertThat(seen.head).isNull();
  }

  @Test
  void anAnswerLetGoIsReadToItsEndAndItsConnectionServesTheNext() throws Exception {
    Http1Pool pool = pool(1);
    Context context = vertx.getOrCreateContext();
    Collected seen =
        exchange(
            pool,
            context,
            HttpMethod.GET,
            port,
            "/",
            stream -> {
              stream.end();
              stream.letGo();
            });
    assertThat(await(get(pool, context, port, "/"))).startsWith("200 from ");
    assertThat(opened).hasSize(1);
    assertThat(seen.head).isNull();
  }

  @Test
  void anAnswerBeforeTheWholeRequestClosesItsConnection() throws Exception {
    Http1Pool pool = pool(1);
    Context context = vertx.getOrCreateContext();
    Collected seen =
        exchange(
            pool,
            context,
            HttpMethod.POST,
            port,
            "/early",
            stream -> {
              stream.headers().set("content-length", "10");
              stream.write(io.vertx.core.buffer.Buffer.buffer("half "));
            });
    assertThat(await(seen.done.future())).isEqualTo("413 ");
    // The upstream would read the rest of the body as the next request: the connection closes.
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .untilAsserted(() -> assertThat(closed).hasValue(1));
    assertThat(await(get(pool, context, port, "/"))).startsWith("200 from ");
    assertThat(opened).hasSize(2);
  }

  /**
   * An upstream on a plain socket that answers one request with {@code answer} (after reading
   * {@code bodyBytes} of body, and writing {@code interim} first), then closes.
   */
  private static int scripted(ServerSocket server, String interim, int bodyBytes, String answer) {
    Thread t =
        new Thread(
            () -> {
              try (Socket s = server.accept()) {
                var in = s.getInputStream();
                var head = new StringBuilder();
                while (!head.toString().endsWith("\r\n\r\n")) {
                  head.append((char) in.read());
                }
                var out = s.getOutputStream();
                out.write(interim.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                out.flush();
                in.readNBytes(bodyBytes);
                out.write(answer.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                out.flush();
              } catch (java.io.IOException e) {
                // The test sees the missing answer.
              }
            });
    t.setDaemon(true);
    t.start();
    return server.getLocalPort();
  }

  @Test
  void aContinueIsPassedOnAndTheFinalAnswerFollows() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      int to =
          scripted(
              server,
              "HTTP/1.1 100 Continue\r\n\r\n",
              5,
              "HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok");
      Collected seen =
          exchange(
              pool(1),
              vertx.getOrCreateContext(),
              HttpMethod.POST,
              to,
              "/",
              stream -> {
                stream.headers().set("expect", "100-continue").set("content-length", "5");
                stream.write(io.vertx.core.buffer.Buffer.buffer("hello"));
                stream.end();
              });
      String answer = await(seen.done.future());
      assertThat(answer).isEqualTo("201 ok");
      assertThat(seen.continues).isEqualTo(1);
    }
  }

  @Test
  void anAnswerWithoutALengthEndsWhenTheUpstreamCloses() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      int to = scripted(server, "", 0, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it");
      assertThat(await(get(pool(1), vertx.getOrCreateContext(), to, "/")))
          .isEqualTo("200 all of it");
    }
  }

  @Test
  void anUpstreamThatClosesMidAnswerFailsTheStream() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      int to = scripted(server, "", 0, "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial");
      assertThatThrownBy(() -> await(get(pool(1), vertx.getOrCreateContext(), to, "/")))
          .isInstanceOf(ExecutionException.class)
          .hasMessageContaining("closed");
    }
  }
}
