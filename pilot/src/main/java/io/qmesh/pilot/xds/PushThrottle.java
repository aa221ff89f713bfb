package io.qmesh.pilot.xds;

import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Istio's push throttle ({@code PILOT_PUSH_THROTTLE}): at most {@code limit} xDS responses waiting
 * in pilot's transports at a time. A response takes a permit before it is framed, and gives it back
 * once gRPC says its stream is ready again (the response is in the socket but for gRPC's 32 KiB),
 * or when the stream ends. Without it a push to 2000 proxies frames every response at once, half a
 * megabyte each for a route config of 1000 services: a gigabyte of buffers that the sockets drain
 * long after, freshly allocated on every push. With it the same few buffers are reused, and the
 * memory a push takes is bounded by the limit.
 *
 * <p>The permit is taken on the thread that sends the stream's responses (one of {@link
 * StreamExecutors}), which waits for it; transports give permits back on their own threads, so a
 * waiting sender never blocks them. A stream whose peer stops reading holds its permit for at most
 * {@code hold}: then the permit is taken back, so a few stuck proxies cannot stop a push to the
 * others.
 */
final class PushThrottle {

  private final Semaphore permits;
  private final long holdNanos;
  private final Set<Stream<?>> holding = ConcurrentHashMap.newKeySet();
  private final AtomicLong reclaimed = new AtomicLong();

  /**
   * @param limit responses in flight at a time
   * @param hold how long a stream that does not drain keeps its permit
   */
  PushThrottle(int limit, Duration hold) {
    if (limit < 1) {
      throw new IllegalArgumentException("push throttle: limit must be at least 1, not " + limit);
    }
    this.permits = new Semaphore(limit);
    this.holdNanos = hold.toNanos();
  }

  /**
   * The ADS service with every stream's responses throttled. The end of a proxy's requests (its
   * half-close, or the stream's cancel or failure) reaches java-control-plane on {@code ends}, not
   * on the transport's thread that delivers it: java-control-plane then takes the stream's monitor,
   * which its sender holds while it waits here for a permit, and a transport thread waiting for a
   * permit would stall every stream it serves (whose drained responses give permits back).
   */
  AggregatedDiscoveryServiceImplBase wrap(AggregatedDiscoveryServiceImplBase ads, Executor ends) {
    return new AggregatedDiscoveryServiceImplBase() {
      @Override
      public StreamObserver<DiscoveryRequest> streamAggregatedResources(
          StreamObserver<DiscoveryResponse> responses) {
        return endingOn(
            ends,
            ads.streamAggregatedResources(
                new Stream<>((ServerCallStreamObserver<DiscoveryResponse>) responses)));
      }

      @Override
      public StreamObserver<DeltaDiscoveryRequest> deltaAggregatedResources(
          StreamObserver<DeltaDiscoveryResponse> responses) {
        return endingOn(
            ends,
            ads.deltaAggregatedResources(
                new Stream<>((ServerCallStreamObserver<DeltaDiscoveryResponse>) responses)));
      }
    };
  }

  /** A stream's requests, their end handed to {@code ends} (the end is the last call). */
  private static <T> StreamObserver<T> endingOn(Executor ends, StreamObserver<T> requests) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T request) {
        requests.onNext(request);
      }

      @Override
      public void onError(Throwable t) {
        ends.execute(() -> requests.onError(t));
      }

      @Override
      public void onCompleted() {
        ends.execute(requests::onCompleted);
      }
    };
  }

  /** Permits taken back from streams that held them past the hold time. */
  long reclaimed() {
    return reclaimed.get();
  }

  /** Permits free now. */
  int available() {
    return permits.availablePermits();
  }

  private void acquire() {
    try {
      while (!permits.tryAcquire(holdNanos, TimeUnit.NANOSECONDS)) {
        long now = System.nanoTime();
        for (Stream<?> s : holding) {
          s.reclaimIfHeldSince(now - holdNanos);
        }
      }
    } catch (InterruptedException e) {
      // The sending executor is stopping (pilot shuts down): the response is not sent, as for a
      // cancelled stream.
      Thread.currentThread().interrupt();
      throw Status.CANCELLED.withDescription("pilot is stopping").asRuntimeException();
    }
  }

  /**
   * One ADS stream's responses (state of the world or delta), as java-control-plane sends them:
   * each {@link #onNext} waits for a permit, sends, and keeps the permit until the stream is ready
   * again.
   */
  private final class Stream<R> extends ServerCallStreamObserver<R> {
    private final ServerCallStreamObserver<R> call;
    private volatile Runnable onCancel;

    /**
     * Guards the permits this stream holds. Not the stream itself: java-control-plane sends while
     * holding the stream's monitor, and waits for a permit there.
     */
    private final Object lock = new Object();

    private int held;
    private boolean closed;
    private long heldSince;

    Stream(ServerCallStreamObserver<R> call) {
      this.call = call;
      call.setOnReadyHandler(this::giveBack);
      call.setOnCancelHandler(
          () -> {
            close();
            Runnable r = onCancel;
            if (r != null) {
              r.run();
            }
          });
    }

    @Override
    public void onNext(R response) {
      synchronized (lock) {
        if (closed) {
          return;
        }
      }
      acquire();
      try {
        call.onNext(response);
      } catch (RuntimeException e) {
        permits.release();
        throw e;
      }
      synchronized (lock) {
        if (closed || call.isReady()) {
          permits.release();
        } else {
          if (held == 0) {
            heldSince = System.nanoTime();
            holding.add(this);
          }
          held++;
        }
      }
    }

    /** The transport drained this stream's queue (or the stream ended): its permits go back. */
    private void giveBack() {
      synchronized (lock) {
        if (held > 0) {
          permits.release(held);
          held = 0;
          holding.remove(this);
        }
      }
    }

    private void close() {
      synchronized (lock) {
        closed = true;
      }
      giveBack();
    }

    private void reclaimIfHeldSince(long before) {
      synchronized (lock) {
        if (held > 0 && heldSince - before <= 0) {
          reclaimed.incrementAndGet();
          giveBack();
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      close();
      call.onError(t);
    }

    @Override
    public void onCompleted() {
      close();
      call.onCompleted();
    }

    @Override
    public boolean isCancelled() {
      return call.isCancelled();
    }

    @Override
    public void setOnCancelHandler(Runnable handler) {
      onCancel = handler;
    }

    @Override
    public void setCompression(String compression) {
      call.setCompression(compression);
    }

    @Override
    public boolean isReady() {
      return call.isReady();
    }

    @Override
    public void setOnReadyHandler(Runnable handler) {
      throw new UnsupportedOperationException("the push throttle handles readiness");
    }

    @Override
    public void request(int count) {
      call.request(count);
    }

    @Override
    public void setMessageCompression(boolean enable) {
      call.setMessageCompression(enable);
    }

    @Override
    public void disableAutoInboundFlowControl() {
      call.disableAutoInboundFlowControl();
    }

    @Override
    public void disableAutoRequest() {
      call.disableAutoRequest();
    }
  }
}
