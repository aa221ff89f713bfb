package io.qmesh.bookinfo.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class UpstreamClientTest {

  @Test
  void serviceUriFollowsIstioNaming() {
    assertThat(UpstreamClient.serviceUri("reviews", null, 9080, "/reviews/0"))
        .isEqualTo(URI.create("http://reviews:9080/reviews/0"));
    assertThat(UpstreamClient.serviceUri("reviews", "default.svc.cluster.local", 9080, "/x"))
        .isEqualTo(URI.create("http://reviews.default.svc.cluster.local:9080/x"));
  }

  @Test
  void callsGoThroughTheProxyInAbsoluteForm() throws Exception {
    try (FakeUpstream details = new FakeUpstream();
        RecordingProxy proxy = new RecordingProxy()) {
      details.respond("/details", 200, "{\"id\":0}");
      proxy.route("details", details.port());
      ProxySettings settings =
          new ProxySettings(
              Optional.of(InetSocketAddress.createUnresolved("127.0.0.1", proxy.port())),
              List.of());
      UpstreamClient client = new UpstreamClient(settings);

      var response =
          client
              .get(
                  URI.create("http://details:9080/details/0"),
                  Map.of("x-request-id", "abc"),
                  Duration.ofSeconds(5))
              .get();

      assertThat(response.status()).isEqualTo(200);
      assertThat(response.body()).isEqualTo("{\"id\":0}");
      assertThat(proxy.targets()).containsExactly(URI.create("http://details:9080/details/0"));
      assertThat(details.requests().get(0).headers()).containsEntry("x-request-id", "abc");
    }
  }

  @Test
  void timeoutFailsTheFuture() {
    try (FakeUpstream slow = new FakeUpstream()) {
      slow.respond("/", 200, "{}", Duration.ofSeconds(2));
      UpstreamClient client = new UpstreamClient(ProxySettings.DIRECT);
      var future =
          client.get(
              URI.create("http://127.0.0.1:" + slow.port() + "/"),
              Map.of(),
              Duration.ofMillis(200));
      org.assertj.core.api.Assertions.assertThatThrownBy(future::get)
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(java.net.http.HttpTimeoutException.class);
    }
  }
}
