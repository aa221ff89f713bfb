package io.qmesh.proxy.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.RouteAction;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class HashPolicyTest {

  private static RouteAction.HashPolicy header(String name, boolean terminal) {
    return RouteAction.HashPolicy.newBuilder()
        .setHeader(RouteAction.HashPolicy.Header.newBuilder().setHeaderName(name))
        .setTerminal(terminal)
        .build();
  }

  private static RouteAction.HashPolicy cookie(String name) {
    return RouteAction.HashPolicy.newBuilder()
        .setCookie(RouteAction.HashPolicy.Cookie.newBuilder().setName(name))
        .build();
  }

  private static RouteAction.HashPolicy query(String name) {
    return RouteAction.HashPolicy.newBuilder()
        .setQueryParameter(RouteAction.HashPolicy.QueryParameter.newBuilder().setName(name))
        .build();
  }

  private static RouteAction.HashPolicy sourceIp() {
    return RouteAction.HashPolicy.newBuilder()
        .setConnectionProperties(
            RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true))
        .build();
  }

  @Test
  void theSameValueHashesTheSameAndOthersDiffer() {
    HashPolicy p = HashPolicy.of(List.of(header("x-user", false)));
    OptionalLong jason = p.hash(TestRequest.get("r", "/").with("x-user", "jason"), "10.0.0.1");
    assertThat(jason).isPresent();
    assertThat(p.hash(TestRequest.get("r", "/other").with("x-user", "jason"), "10.0.0.2"))
        .isEqualTo(jason);
    assertThat(p.hash(TestRequest.get("r", "/").with("x-user", "alice"), "10.0.0.1"))
        .isNotEqualTo(jason);
    assertThat(p.hash(TestRequest.get("r", "/"), "10.0.0.1")).as("no value, no hash").isEmpty();
  }

  @Test
  void cookiesQueryParametersAndTheSourceAddress() {
    HashPolicy byCookie = HashPolicy.of(List.of(cookie("session")));
    assertThat(byCookie.hash(TestRequest.get("r", "/").with("cookie", "a=1; session=s1"), null))
        .isEqualTo(byCookie.hash(TestRequest.get("r", "/").with("cookie", "session=s1"), null))
        .isPresent();
    HashPolicy byQuery = HashPolicy.of(List.of(query("user")));
    assertThat(byQuery.hash(TestRequest.get("r", "/p?x=1&user=u1"), null))
        .isEqualTo(byQuery.hash(TestRequest.get("r", "/q?user=u1"), null))
        .isPresent();
    HashPolicy bySource = HashPolicy.of(List.of(sourceIp()));
    assertThat(bySource.hash(TestRequest.get("r", "/"), "10.0.0.7"))
        .isEqualTo(bySource.hash(TestRequest.get("r", "/x"), "10.0.0.7"))
        .isNotEqualTo(bySource.hash(TestRequest.get("r", "/"), "10.0.0.8"));
  }

  @Test
  void aTerminalPolicyThatFindsItsValueEndsTheSearch() {
    HashPolicy p = HashPolicy.of(List.of(header("x-a", true), header("x-b", false)));
    var withA = TestRequest.get("r", "/").with("x-a", "1");
    assertThat(p.hash(withA.with("x-b", "2"), null)).isEqualTo(p.hash(withA, null));
    // Without x-a, x-b decides; with both non-terminal, both count.
    HashPolicy both = HashPolicy.of(List.of(header("x-a", false), header("x-b", false)));
    assertThat(both.hash(withA.with("x-b", "2"), null)).isNotEqualTo(both.hash(withA, null));
  }
}
