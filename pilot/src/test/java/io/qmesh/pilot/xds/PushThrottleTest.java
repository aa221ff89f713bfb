package io.qmesh.pilot.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The push throttle over real gRPC streams on 127.0.0.1: a proxy that does not read its response
 * (its HTTP/2 window full) holds its permit, so with a limit of one another proxy's response waits
 * until the first drains, ends, or has held its permit for the hold time.
 */
class PushThrottleTest {

  /** Far more than a proxy's 64 KiB window: the rest waits in pilot until the proxy reads. */
  private static final int RESPONSE_BYTES = 1 << 20;

  private final List<ManagedChannel> channels = new ArrayList<>();
  private final ExecutorService senders = Executors.newCachedThreadPool();
  private Server server;

  /** An ADS service that answers each request with one large response, sent on its own thread. */
  private static final class Answering extends AggregatedDiscoveryServiceImplBase {
    private final ExecutorService senders;

    Answering(ExecutorService senders) {
      this.senders = senders;
    }

    @Override
    public StreamObserver<DiscoveryRequest> streamAggregatedResources(
        StreamObserver<DiscoveryResponse> responses) {
      return new StreamObserver<>() {
        @Override
        public void onNext(DiscoveryRequest request) {
          senders.execute(
              () -> {
                try {
                  responses.onNext(
                      DiscoveryResponse.newBuilder()
                          .setVersionInfo(request.getNode().getId())
                          .setTypeUrl(request.getTypeUrl())
                          .addResources(
                              Any.newBuilder()
                                  .setTypeUrl("type.googleapis.com/test.Padding")
                                  .setValue(ByteString.copyFrom(new byte[RESPONSE_BYTES])))
                          .build());
                } catch (RuntimeException e) {
                  // the stream went away
                }
              });
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          responses.onCompleted();
        }
      };
    }
  }

  private PushThrottle start(int limit, Duration hold) throws Exception {
    PushThrottle throttle = new PushThrottle(limit, hold);
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(throttle.wrap(new Answering(senders), senders))
            .build()
            .start();
    return throttle;
  }

  /** A proxy's stream: reads its responses when {@code reading}, else leaves them unread. */
  private final class Proxy {
    final ClientCall<DiscoveryRequest, DiscoveryResponse> call;
    final LinkedBlockingQueue<DiscoveryResponse> got = new LinkedBlockingQueue<>();

    Proxy(String id, boolean reading) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
              .usePlaintext()
              .flowControlWindow(65535)
              .maxInboundMessageSize(2 * RESPONSE_BYTES)
              .build();
      channels.add(channel);
      call =
          channel.newCall(
              AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod(),
              CallOptions.DEFAULT);
      call.start(
          new ClientCall.Listener<>() {
            @Override
            public void onMessage(DiscoveryResponse message) {
              got.add(message);
            }
          },
          new Metadata());
      if (reading) {
        call.request(Integer.MAX_VALUE);
      }
      call.sendMessage(
          DiscoveryRequest.newBuilder()
              .setNode(io.envoyproxy.envoy.config.core.v3.Node.newBuilder().setId(id))
              .setTypeUrl("type.googleapis.com/envoy.config.route.v3.RouteConfiguration")
              .build());
    }

    DiscoveryResponse next(Duration within) throws InterruptedException {
      return got.poll(within.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  @AfterEach
  void stop() throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    senders.shutdownNow();
  }

  /** Waits until the stuck proxy's response is queued in pilot and holds the one permit. */
  private static void awaitHeld(PushThrottle throttle) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (throttle.available() > 0) {
      assertThat(System.nanoTime()).as("the stuck proxy holds the permit").isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  @Test
  void aResponseWaitsForTheOneInFlightToDrain() throws Exception {
    PushThrottle throttle = start(1, Duration.ofMinutes(1));
    Proxy stuck = new Proxy("stuck", false);
    awaitHeld(throttle);
    Proxy other = new Proxy("other", true);

    assertThat(other.next(Duration.ofSeconds(1))).as("sent while the permit is held").isNull();

    stuck.call.request(1);
    assertThat(stuck.next(Duration.ofSeconds(10))).isNotNull();
    DiscoveryResponse r = other.next(Duration.ofSeconds(10));
    assertThat(r).as("sent once the first drained").isNotNull();
    assertThat(r.getVersionInfo()).isEqualTo("other");
    assertThat(throttle.reclaimed()).isZero();
  }

  @Test
  void withRoomForBothNeitherWaits() throws Exception {
    PushThrottle throttle = start(2, Duration.ofMinutes(1));
    new Proxy("stuck", false);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (throttle.available() > 1 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    Proxy other = new Proxy("other", true);
    assertThat(other.next(Duration.ofSeconds(10))).isNotNull();
  }

  @Test
  void aStreamThatEndsGivesItsPermitBack() throws Exception {
    PushThrottle throttle = start(1, Duration.ofMinutes(1));
    Proxy stuck = new Proxy("stuck", false);
    awaitHeld(throttle);
    Proxy other = new Proxy("other", true);
    assertThat(other.next(Duration.ofMillis(500))).isNull();

    stuck.call.cancel("proxy gone", null);
    assertThat(other.next(Duration.ofSeconds(10))).as("sent once the first ended").isNotNull();
    assertThat(throttle.reclaimed()).isZero();
  }

  @Test
  void aProxyThatNeverReadsLosesItsPermitAfterTheHoldTime() throws Exception {
    PushThrottle throttle = start(1, Duration.ofSeconds(1));
    new Proxy("stuck", false);
    awaitHeld(throttle);
    long start = System.nanoTime();
    Proxy other = new Proxy("other", true);

    assertThat(other.next(Duration.ofSeconds(10))).isNotNull();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofMillis(500));
    assertThat(throttle.reclaimed()).isEqualTo(1);
  }

  /**
   * java-control-plane sends under the stream's monitor and takes it again when the stream ends. A
   * sender waiting there for a permit must not hold up the transport's thread that delivers the end
   * (pilot runs ADS callbacks on the transport: {@code directExecutor}).
   */
  @Test
  void aStreamsEndDoesNotWaitForItsSenderToGetAPermit() throws Exception {
    PushThrottle throttle = new PushThrottle(1, Duration.ofMinutes(1));
    CountDownLatch monitorHeld = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch ended = new CountDownLatch(1);
    AggregatedDiscoveryServiceImplBase ads =
        new AggregatedDiscoveryServiceImplBase() {
          @Override
          public StreamObserver<DiscoveryRequest> streamAggregatedResources(
              StreamObserver<DiscoveryResponse> responses) {
            senders.execute(
                () -> {
                  synchronized (responses) {
                    monitorHeld.countDown();
                    try {
                      release.await();
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                  }
                });
            return new StreamObserver<>() {
              @Override
              public void onNext(DiscoveryRequest request) {}

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {
                synchronized (responses) {
                  ended.countDown();
                }
              }
            };
          }
        };
    StreamObserver<DiscoveryRequest> requests =
        throttle.wrap(ads, senders).streamAggregatedResources(new IdleCall<>());
    assertThat(monitorHeld.await(10, TimeUnit.SECONDS)).isTrue();

    Thread transport = new Thread(requests::onCompleted, "transport");
    transport.start();
    transport.join(2000);
    assertThat(transport.isAlive()).as("the transport's thread waits for the sender").isFalse();

    release.countDown();
    assertThat(ended.await(10, TimeUnit.SECONDS)).as("the end reaches the service").isTrue();
  }

  /** A server call that is never ready and never cancelled. */
  private static final class IdleCall<T> extends ServerCallStreamObserver<T> {
    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void setOnCancelHandler(Runnable handler) {}

    @Override
    public void setCompression(String compression) {}

    @Override
    public boolean isReady() {
      return false;
    }

    @Override
    public void setOnReadyHandler(Runnable handler) {}

    @Override
    public void request(int count) {}

    @Override
    public void setMessageCompression(boolean enable) {}

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void onNext(T value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
