package io.qmesh.proxy.listener;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.FastThreadLocal;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.impl.ContextInternal;
import io.vertx.core.impl.VertxInternal;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Plaintext HTTP/1.1 connections to upstream hosts, pooled per event loop (Envoy's connection pools
 * are per worker thread): a request takes the connection its loop last released to the host, else
 * opens one while the host has fewer than {@code maxPerHost} on this loop, else waits for a
 * release. Nothing here is shared between threads, so nothing is locked.
 *
 * <p>The connections are Netty channels of Vert.x's transport on the loop's own event loop, with
 * Netty's HTTP/1.1 client codec and an {@link Http1Connection} after it: a request is written as
 * the codec's objects, with the headers the exchange filled in, and its answer goes straight to the
 * exchange. Vert.x's client request and response, their futures and their second copy of the
 * answer's headers are not in the way (a sixth of the proxy's CPU per request). A connection idle
 * for longer than the keep-alive time is closed by a sweep each second. A request made off an event
 * loop is not taken: the caller then uses a Vert.x client.
 */
final class Http1Pool {

  /** How often each loop closes its idle connections whose keep-alive time has passed. */
  static final long SWEEP_MILLIS = 1000;

  /** Vert.x's HTTP client defaults: the request line, the headers, a body chunk. */
  private static final int MAX_INITIAL_LINE = 4096;

  private static final int MAX_HEADER_SIZE = 8192;
  private static final int MAX_CHUNK_SIZE = 8192;

  /** The connect timeout when the cluster gives none (Vert.x's default). */
  private static final int DEFAULT_CONNECT_TIMEOUT_MILLIS = 60_000;

  private final Vertx vertx;
  private final int maxPerHost;
  private final long keepAliveNanos;
  private final FastThreadLocal<Loop> loops = new FastThreadLocal<>();
  private final List<Loop> all = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  /** A pool whose idle connections close after {@code keepAliveSeconds} unused. */
  Http1Pool(Vertx vertx, int maxPerHost, int keepAliveSeconds) {
    this.vertx = vertx;
    this.maxPerHost = maxPerHost;
    this.keepAliveNanos = TimeUnit.SECONDS.toNanos(keepAliveSeconds);
  }

  /**
   * A stream to {@code address:port} on a pooled connection of this event loop, to {@code handler}:
   * at once when a connection is idle, else once one is opened or released. It fails when no
   * connection could be opened within {@code connectTimeoutMillis} (0: 60 s). Returns false, and
   * does nothing, off an event loop.
   */
  boolean request(
      HttpMethod method,
      String uri,
      String address,
      int port,
      long connectTimeoutMillis,
      Handler<AsyncResult<UpstreamStream>> handler) {
    if (closed || !Context.isOnEventLoopThread()) {
      return false;
    }
    Loop loop = loops.get();
    if (loop == null) {
      loop = new Loop(((ContextInternal) vertx.getOrCreateContext()).nettyEventLoop());
      loops.set(loop);
      all.add(loop);
      Loop created = loop;
      loop.sweeper = vertx.setPeriodic(SWEEP_MILLIS, t -> created.sweep());
    }
    Host host = loop.host(address, port);
    Http1Connection idle = host.takeIdle();
    if (idle != null) {
      handler.handle(Future.succeededFuture(idle.stream(method, uri)));
      return true;
    }
    Waiter waiter = new Waiter(method, uri, handler, connectTimeoutMillis);
    host.waiters.addLast(waiter);
    if (host.open < maxPerHost) {
      host.connect(waiter);
    }
    return true;
  }

  /** Stops the sweeps and closes the idle connections; busy ones close once answered. */
  void close() {
    closed = true;
    for (Loop loop : all) {
      vertx.cancelTimer(loop.sweeper);
      if (!loop.eventLoop.isShuttingDown()) {
        loop.eventLoop.execute(loop::closeIdle);
      }
    }
  }

  /** One event loop's connections, by upstream host. */
  private final class Loop {
    final EventLoop eventLoop;
    final Bootstrap bootstrap;
    final Map<Key, Host> hosts = new HashMap<>();
    long sweeper;

    Loop(EventLoop eventLoop) {
      this.eventLoop = eventLoop;
      this.bootstrap =
          new Bootstrap()
              .group(eventLoop)
              .channelFactory(((VertxInternal) vertx).transport().channelFactory(false))
              .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
              .option(ChannelOption.TCP_NODELAY, true);
    }

    Host host(String address, int port) {
      Key key = new Key(address, port);
      Host host = hosts.get(key);
      if (host == null) {
        host = new Host(this, key);
        hosts.put(key, host);
      }
      return host;
    }

    void sweep() {
      long now = System.nanoTime();
      for (var it = hosts.values().iterator(); it.hasNext(); ) {
        Host host = it.next();
        host.closeExpired(now);
        if (host.open == 0 && host.waiters.isEmpty()) {
          // A host of an old config that nothing sends to any more.
          it.remove();
        }
      }
    }

    void closeIdle() {
      for (Host host : hosts.values()) {
        host.closeExpired(Long.MAX_VALUE);
      }
    }
  }

  private record Key(String address, int port) {}

  /** One upstream host's connections on one loop: the idle ones, the number open, the waiters. */
  final class Host {
    final Loop loop;
    final Key key;
    final ArrayDeque<Http1Connection> idle = new ArrayDeque<>();
    final ArrayDeque<Waiter> waiters = new ArrayDeque<>();

    /** Connections open or being opened. */
    int open;

    Host(Loop loop, Key key) {
      this.loop = loop;
      this.key = key;
    }

    /** The most recently released connection still usable (open, its keep-alive not passed). */
    Http1Connection takeIdle() {
      Http1Connection c;
      long now = System.nanoTime();
      while ((c = idle.pollLast()) != null) {
        if (c.usable(now)) {
          return c;
        }
        c.close();
      }
      return null;
    }

    void connect(Waiter first) {
      open++;
      long timeout =
          first.connectTimeoutMillis > 0
              ? first.connectTimeoutMillis
              : DEFAULT_CONNECT_TIMEOUT_MILLIS;
      long timer =
          vertx.setTimer(
              timeout,
              t -> {
                if (waiters.remove(first)) {
                  first.handler.handle(
                      Future.failedFuture(
                          new TimeoutException(
                              "connecting to "
                                  + key.address()
                                  + ":"
                                  + key.port()
                                  + " took over "
                                  + timeout
                                  + " ms")));
                }
              });
      InetAddress literal = NetUtil.createInetAddressFromIpAddressString(key.address());
      if (literal != null) {
        connect(new InetSocketAddress(literal, key.port()), first, timer, (int) timeout);
      } else {
        ((VertxInternal) vertx)
            .resolveAddress(
                key.address(),
                ar -> {
                  if (ar.failed()) {
                    connected(null, ar.cause(), first, timer);
                  } else {
                    connect(
                        new InetSocketAddress(ar.result(), key.port()),
                        first,
                        timer,
                        (int) timeout);
                  }
                });
      }
    }

    private void connect(InetSocketAddress to, Waiter first, long timer, int timeoutMillis) {
      Http1Connection connection = new Http1Connection(this);
      loop.bootstrap
          .clone()
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeoutMillis)
          .handler(
              new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel ch) {
                  ch.pipeline()
                      .addLast(
                          new HttpClientCodec(
                              MAX_INITIAL_LINE, MAX_HEADER_SIZE, MAX_CHUNK_SIZE, false, true),
                          connection);
                }
              })
          .connect(to)
          .addListener(
              f ->
                  connected(
                      f.isSuccess() ? connection : null,
                      f.isSuccess() ? null : f.cause(),
                      first,
                      timer));
    }

    private void connected(Http1Connection c, Throwable failure, Waiter first, long timer) {
      vertx.cancelTimer(timer);
      if (c == null) {
        open--;
        if (waiters.remove(first)) {
          first.handler.handle(Future.failedFuture(failure));
        }
        connectForNext();
        return;
      }
      released(c);
    }

    /** The first waiter gets a connection of its own while the host has room for one. */
    private void connectForNext() {
      Waiter next = waiters.peekFirst();
      if (next != null && open < maxPerHost) {
        connect(next);
      }
    }

    /** A connection free again (its last answer read): to the first waiter, else idle. */
    void released(Http1Connection c) {
      Waiter w = waiters.pollFirst();
      if (w != null) {
        w.handler.handle(Future.succeededFuture(c.stream(w.method, w.uri)));
      } else if (closed) {
        c.close();
      } else {
        c.idleUntil(System.nanoTime() + keepAliveNanos);
        idle.addLast(c);
      }
    }

    /** Closed (by either side, or for its keep-alive time): no longer one of this host's. */
    void evicted(Http1Connection c) {
      open--;
      idle.remove(c);
      connectForNext();
    }

    void closeExpired(long now) {
      List<Http1Connection> expired = null;
      for (Http1Connection c : idle) {
        if (!c.usable(now)) {
          if (expired == null) {
            expired = new ArrayList<>();
          }
          expired.add(c);
        }
      }
      if (expired != null) {
        for (Http1Connection c : expired) {
          idle.remove(c);
          c.close();
        }
      }
    }
  }

  /** A request waiting for a connection (each its own: removed by identity). */
  private static final class Waiter {
    final HttpMethod method;
    final String uri;
    final Handler<AsyncResult<UpstreamStream>> handler;
    final long connectTimeoutMillis;

    Waiter(
        HttpMethod method,
        String uri,
        Handler<AsyncResult<UpstreamStream>> handler,
        long connectTimeoutMillis) {
      this.method = method;
      this.uri = uri;
      this.handler = handler;
      this.connectTimeoutMillis = connectTimeoutMillis;
    }
  }
}
