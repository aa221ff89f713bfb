package io.qmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.xds.XdsResources;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ListenerManagerTest {

  private final Vertx vertx = Vertx.vertx();
  private final ListenerManager manager =
      new ListenerManager(vertx, () -> ProxyConfig.EMPTY, "127.0.0.1");

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static Listener listener(int port, String routes, boolean bind) {
    HttpConnectionManager hcm =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("x")
            .setRds(Rds.newBuilder().setRouteConfigName(routes))
            .build();
    Listener.Builder l =
        TestXds.listener(port, "envoy.filters.network.http_connection_manager", hcm);
    if (!bind) {
      l.setBindToPort(BoolValue.of(false));
    }
    return l.build();
  }

  private static XdsResources with(Listener... listeners) {
    Map<String, Listener> m = new HashMap<>();
    for (Listener l : listeners) {
      m.put(l.getName(), l);
    }
    return new XdsResources(m, Map.of(), Map.of(), Map.of());
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static boolean accepting(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (ConnectException e) {
      return false;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void bindsWhatTheListenersAskForAndClosesWhatTheyNoLongerDo() throws Exception {
    int a = freePort();
    int b = freePort();
    assertThat(
            manager.reconcile(
                with(
                    listener(a, "http." + a, true),
                    listener(b, "http." + b, true),
                    listener(9, "9", false))))
        .isNull();
    assertThat(manager.ports()).isEqualTo(Map.of(a, "http." + a, b, "http." + b));
    assertThat(accepting(a)).isTrue();
    assertThat(manager.reconcile(with(listener(a, "http." + a, true)))).isNull();
    assertThat(manager.ports()).containsOnlyKeys(a);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(() -> !accepting(b));
  }

  @Test
  void aPortInUseRefusesTheUpdateAndUndoesIt() throws Exception {
    int free = freePort();
    try (ServerSocket taken =
        new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      String error =
          manager.reconcile(
              with(listener(free, "http.a", true), listener(taken.getLocalPort(), "http.b", true)));
      assertThat(error)
          .startsWith(
              "listener on port "
                  + taken.getLocalPort()
                  + ": cannot bind 127.0.0.1:"
                  + taken.getLocalPort());
      assertThat(manager.ports()).isEmpty();
    }
  }
}
