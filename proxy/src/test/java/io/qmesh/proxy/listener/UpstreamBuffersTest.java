package io.qmesh.proxy.listener;

import static io.qmesh.proxy.listener.Backends.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.core.net.impl.ConnectionBase;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Over real sockets: what an upstream HTTP/1.1 connection hands its socket. With the hook, the
 * encoded request heads are pooled direct buffers that go to the socket as they are; without it,
 * Vert.x's client encodes them into new heap arrays (copied once more into direct memory by the
 * channel). TLS connections keep Vert.x's allocator.
 */
class UpstreamBuffersTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void aPlaintextConnectionEncodesItsRequestsIntoPooledDirectBuffers() throws Exception {
    List<Written> written = requestsWritten(UpstreamBuffers::pooled);
    assertThat(written).isNotEmpty();
    assertThat(written)
        .allSatisfy(
            b -> {
              assertThat(b.direct()).isTrue();
              assertThat(b.allocator()).isSameAs(PooledByteBufAllocator.DEFAULT);
            });
  }

  @Test
  void withoutItTheRequestsAreEncodedIntoHeapArrays() throws Exception {
    List<Written> written = requestsWritten(c -> {});
    assertThat(written).isNotEmpty().anySatisfy(b -> assertThat(b.direct()).isFalse());
  }

  @Test
  void aTlsConnectionKeepsVertxsAllocator() throws Exception {
    SelfSignedCertificate cert = SelfSignedCertificate.create("localhost");
    HttpServer server =
        await(
            vertx
                .createHttpServer(
                    new HttpServerOptions().setSsl(true).setKeyCertOptions(cert.keyCertOptions()))
                .requestHandler(r -> r.response().end("ok"))
                .listen(0, "127.0.0.1"));
    List<Object> allocators = new CopyOnWriteArrayList<>();
    var client =
        vertx
            .httpClientBuilder()
            .with(new HttpClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false))
            .withConnectHandler(
                c -> {
                  UpstreamBuffers.pooled(c);
                  allocators.add(((ConnectionBase) c).channel().config().getAllocator());
                })
            .build();
    assertThat(get(client, server.actualPort())).isEqualTo("ok");
    assertThat(allocators).hasSize(1);
    assertThat(allocators.get(0)).isNotSameAs(PooledByteBufAllocator.DEFAULT);
  }

  /** What a buffer handed to the socket was: direct or not, and whose. */
  private record Written(boolean direct, Object allocator) {}

  /**
   * Three requests on one keep-alive connection whose client runs {@code hook} as its connection
   * handler; the buffers that reach the head of its pipeline (the socket's side), as they pass.
   */
  private List<Written> requestsWritten(Consumer<HttpConnection> hook) throws Exception {
    HttpServer server =
        await(
            vertx
                .createHttpServer()
                .requestHandler(r -> r.response().end("ok"))
                .listen(0, "127.0.0.1"));
    List<Written> written = new CopyOnWriteArrayList<>();
    var client =
        vertx
            .httpClientBuilder()
            .with(new HttpClientOptions().setKeepAlive(true).setMaxPoolSize(1))
            .withConnectHandler(
                c -> {
                  hook.accept(c);
                  ((ConnectionBase) c)
                      .channel()
                      .pipeline()
                      .addFirst(
                          new ChannelOutboundHandlerAdapter() {
                            @Override
                            public void write(
                                ChannelHandlerContext ctx, Object msg, ChannelPromise promise)
                                throws Exception {
                              if (msg instanceof ByteBuf b && b.isReadable()) {
                                written.add(new Written(b.isDirect(), b.alloc()));
                              }
                              super.write(ctx, msg, promise);
                            }
                          });
                })
            .build();
    for (int i = 0; i < 3; i++) {
      assertThat(get(client, server.actualPort())).isEqualTo("ok");
    }
    return written;
  }

  private static String get(io.vertx.core.http.HttpClient client, int port) throws Exception {
    return await(
            client
                .request(new RequestOptions().setPort(port).setHost("127.0.0.1"))
                .compose(r -> r.send().compose(resp -> resp.body())))
        .toString();
  }
}
