package io.qmesh.proxy.listener;

import io.netty.util.concurrent.FastThreadLocal;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.impl.HttpClientConnection;
import io.vertx.core.http.impl.HttpClientImpl;
import io.vertx.core.http.impl.HttpClientStream;
import io.vertx.core.impl.ContextInternal;
import io.vertx.core.impl.future.PromiseInternal;
import io.vertx.core.net.SocketAddress;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;

/**
 * Plaintext HTTP/1.1 connections to upstream hosts, pooled per event loop (Envoy's connection pools
 * are per worker thread): a request takes the connection its loop last released to the host, else
 * opens one while the host has fewer than {@code maxPerHost} on this loop, else waits for a
 * release. Nothing here is shared between threads, so nothing is locked: Vert.x's own pool
 * serializes every acquire and release through a combiner shared by all loops, which cost about 1
 * us a request.
 *
 * <p>The connections are the client's own (its options: keep-alive and its timeout, which expires
 * idle ones; closing the client closes them), and the requests are Vert.x's: everything after the
 * connection is taken is as with {@link HttpClient#request}. A request made off an event loop gets
 * null: the caller then uses the client's pool.
 */
final class Http1Pool {

  /** How often each loop closes its idle connections whose keep-alive time has passed. */
  static final long SWEEP_MILLIS = 1000;

  /** Vert.x's request on a stream: its constructor is the package's (HttpClientImpl uses it). */
  private static final MethodHandle NEW_REQUEST;

  static {
    try {
      Class<?> type = Class.forName("io.vertx.core.http.impl.HttpClientRequestImpl");
      NEW_REQUEST =
          MethodHandles.privateLookupIn(type, MethodHandles.lookup())
              .findConstructor(
                  type,
                  MethodType.methodType(
                      void.class,
                      HttpClientStream.class,
                      PromiseInternal.class,
                      HttpMethod.class,
                      SocketAddress.class,
                      String.class,
                      int.class,
                      String.class,
                      String.class));
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final Vertx vertx;
  private final HttpClientImpl client;
  private final int maxPerHost;
  private final Handler<HttpConnection> onConnect;
  private final FastThreadLocal<Loop> loops = new FastThreadLocal<>();
  private final List<Loop> all = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  Http1Pool(Vertx vertx, HttpClient client, int maxPerHost, Handler<HttpConnection> onConnect) {
    this.vertx = vertx;
    this.client = (HttpClientImpl) client;
    this.maxPerHost = maxPerHost;
    this.onConnect = onConnect;
  }

  /**
   * A request to {@code address:port} on a pooled connection of this event loop; null off an event
   * loop. It fails when no connection could be opened within {@code connectTimeoutMillis} (0: the
   * client's connect timeout).
   */
  Future<HttpClientRequest> request(
      HttpMethod method, String uri, String address, int port, long connectTimeoutMillis) {
    if (closed || !Context.isOnEventLoopThread()) {
      return null;
    }
    ContextInternal context = (ContextInternal) vertx.getOrCreateContext();
    Loop loop = loops.get();
    if (loop == null) {
      loop = new Loop();
      loops.set(loop);
      all.add(loop);
      Loop created = loop;
      loop.sweeper = vertx.setPeriodic(SWEEP_MILLIS, t -> created.sweep());
    }
    Host host = loop.host(address, port);
    Waiter waiter = new Waiter(context, method, uri, host, connectTimeoutMillis);
    Pooled idle = host.takeIdle();
    if (idle != null) {
      waiter.use(idle);
    } else {
      host.waiters.addLast(waiter);
      if (host.open < maxPerHost) {
        host.connect(waiter);
      }
    }
    return waiter.promise.future();
  }

  /** Stops the sweeps; the client's close closes the connections. */
  void close() {
    closed = true;
    for (Loop loop : all) {
      vertx.cancelTimer(loop.sweeper);
    }
  }

  /** One event loop's connections, by upstream host. */
  private final class Loop {
    final Map<Key, Host> hosts = new HashMap<>();
    long sweeper;

    Host host(String address, int port) {
      Key key = new Key(address, port);
      Host host = hosts.get(key);
      if (host == null) {
        host = new Host(key);
        hosts.put(key, host);
      }
      return host;
    }

    void sweep() {
      for (var it = hosts.values().iterator(); it.hasNext(); ) {
        Host host = it.next();
        host.closeExpired();
        if (host.open == 0 && host.waiters.isEmpty()) {
          // A host of an old config that nothing sends to any more.
          it.remove();
        }
      }
    }
  }

  private record Key(String address, int port) {}

  /** One upstream host's connections on one loop: the idle ones, the number open, the waiters. */
  private final class Host {
    final SocketAddress server;
    final ArrayDeque<Pooled> idle = new ArrayDeque<>();
    final ArrayDeque<Waiter> waiters = new ArrayDeque<>();

    /** Connections open or being opened. */
    int open;

    Host(Key key) {
      this.server = SocketAddress.inetSocketAddress(key.port(), key.address());
    }

    /** The most recently released connection still usable (its keep-alive time not passed). */
    Pooled takeIdle() {
      Pooled p;
      while ((p = idle.pollLast()) != null) {
        if (p.connection.isValid()) {
          return p;
        }
        p.connection.close();
      }
      return null;
    }

    void connect(Waiter first) {
      open++;
      long timeout = first.connectTimeoutMillis;
      long timer =
          timeout > 0
              ? vertx.setTimer(
                  timeout,
                  t -> {
                    if (waiters.remove(first)) {
                      first.promise.tryFail(
                          new TimeoutException(
                              "connecting to " + server + " took over " + timeout + " ms"));
                    }
                  })
              : -1;
      client.connect(server).onComplete(ar -> connected(ar, first, timer));
    }

    private void connected(AsyncResult<HttpClientConnection> ar, Waiter first, long timer) {
      if (timer >= 0) {
        vertx.cancelTimer(timer);
      }
      if (ar.failed()) {
        open--;
        if (waiters.remove(first)) {
          first.promise.tryFail(ar.cause());
        }
        connectForNext();
        return;
      }
      Pooled p = new Pooled(ar.result());
      p.connection.evictionHandler(v -> evicted(p));
      onConnect.handle(p.connection);
      released(p);
    }

    /** The first waiter gets a connection of its own while the host has room for one. */
    private void connectForNext() {
      Waiter next = waiters.peekFirst();
      if (next != null && open < maxPerHost) {
        connect(next);
      }
    }

    /** A connection free again (its last stream ended): to the first waiter, else idle. */
    void released(Pooled p) {
      if (p.evicted) {
        return;
      }
      Waiter w = waiters.pollFirst();
      if (w != null) {
        w.use(p);
      } else if (closed) {
        p.connection.close();
      } else {
        idle.addLast(p);
      }
    }

    /** Closed (by either side, or for its keep-alive time): no longer one of this host's. */
    void evicted(Pooled p) {
      if (p.evicted) {
        return;
      }
      p.evicted = true;
      open--;
      idle.remove(p);
      connectForNext();
    }

    void closeExpired() {
      List<Pooled> expired = null;
      for (Pooled p : idle) {
        if (!p.connection.isValid()) {
          if (expired == null) {
            expired = new ArrayList<>();
          }
          expired.add(p);
        }
      }
      if (expired != null) {
        for (Pooled p : expired) {
          idle.remove(p);
          p.connection.close();
        }
      }
    }
  }

  /** A connection of a host's, and whether it has closed. */
  private static final class Pooled {
    final HttpClientConnection connection;
    boolean evicted;

    Pooled(HttpClientConnection connection) {
      this.connection = connection;
    }
  }

  /** A request waiting for a connection. */
  private final class Waiter {
    final ContextInternal context;
    final HttpMethod method;
    final String uri;
    final Host host;
    final long connectTimeoutMillis;
    final Promise<HttpClientRequest> promise;

    Waiter(
        ContextInternal context,
        HttpMethod method,
        String uri,
        Host host,
        long connectTimeoutMillis) {
      this.context = context;
      this.method = method;
      this.uri = uri;
      this.host = host;
      this.connectTimeoutMillis = connectTimeoutMillis;
      this.promise = context.promise();
    }

    /** Opens the request's stream on the connection; the stream's end gives the connection back. */
    void use(Pooled p) {
      p.connection.createStream(
          context,
          ar -> {
            if (ar.failed()) {
              promise.tryFail(ar.cause());
              return;
            }
            HttpClientStream stream = ar.result();
            stream.closeHandler(v -> host.released(p));
            HttpClientRequest req;
            try {
              req =
                  (HttpClientRequest)
                      NEW_REQUEST.invoke(
                          stream,
                          stream.getContext().<HttpClientResponse>promise(),
                          method,
                          host.server,
                          host.server.host(),
                          host.server.port(),
                          uri,
                          (String) null);
            } catch (Throwable e) {
              stream.reset(e);
              promise.tryFail(e);
              return;
            }
            if (!promise.tryComplete(req)) {
              req.reset();
            }
          });
    }
  }
}
