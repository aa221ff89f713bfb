package io.qmesh.proxy.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouteTableTest {

  private static Route to(String cluster, RouteMatch.Builder match) {
    return Route.newBuilder()
        .setMatch(match)
        .setRoute(RouteAction.newBuilder().setCluster(cluster))
        .build();
  }

  private static VirtualHost vh(String name, List<String> domains, Route... routes) {
    return VirtualHost.newBuilder()
        .setName(name)
        .addAllDomains(domains)
        .addAllRoutes(List.of(routes))
        .build();
  }

  private static String cluster(RouteTable t, Request r) {
    return t.match(r).map(m -> ((Action.ToCluster) m.route().action()).cluster()).orElse("NR");
  }

  private static final RouteMatch.Builder ALL = RouteMatch.newBuilder().setPrefix("/");

  @Test
  void virtualHostsAreChosenAsEnvoyChoosesThem() {
    RouteTable t =
        RouteTable.compile(
            RouteConfiguration.newBuilder()
                .setName("80")
                .addVirtualHosts(vh("exact", List.of("api.example.com"), to("exact", ALL)))
                .addVirtualHosts(
                    vh("long-suffix", List.of("*.api.example.com"), to("long-suffix", ALL)))
                .addVirtualHosts(vh("suffix", List.of("*.example.com"), to("suffix", ALL)))
                .addVirtualHosts(vh("prefix", List.of("api.*"), to("prefix", ALL)))
                .addVirtualHosts(vh("any", List.of("*"), to("any", ALL)))
                .build());
    assertThat(cluster(t, TestRequest.get("API.example.com", "/"))).isEqualTo("exact");
    assertThat(cluster(t, TestRequest.get("v1.api.example.com", "/"))).isEqualTo("long-suffix");
    assertThat(cluster(t, TestRequest.get("www.example.com", "/"))).isEqualTo("suffix");
    assertThat(cluster(t, TestRequest.get("api.other.org", "/"))).isEqualTo("prefix");
    assertThat(cluster(t, TestRequest.get("elsewhere", "/"))).isEqualTo("any");
  }

  @Test
  void ignoringThePortInHostMatchingChoosesTheHostByItsNameAlone() {
    RouteConfiguration.Builder rc =
        RouteConfiguration.newBuilder()
            .setName("9080")
            .addVirtualHosts(vh("reviews", List.of("reviews", "reviews.default"), to("r", ALL)))
            .addVirtualHosts(vh("v6", List.of("[::1]"), to("v6", ALL)))
            .addVirtualHosts(vh("any", List.of("*"), to("any", ALL)));
    RouteTable ignoring = RouteTable.compile(rc.setIgnorePortInHostMatching(true).build());
    assertThat(cluster(ignoring, TestRequest.get("reviews:9080", "/"))).isEqualTo("r");
    assertThat(cluster(ignoring, TestRequest.get("reviews.default:1234", "/"))).isEqualTo("r");
    assertThat(cluster(ignoring, TestRequest.get("reviews", "/"))).isEqualTo("r");
    assertThat(cluster(ignoring, TestRequest.get("[::1]:9080", "/"))).isEqualTo("v6");
    assertThat(cluster(ignoring, TestRequest.get("reviews:http", "/"))).isEqualTo("any");

    RouteTable matching = RouteTable.compile(rc.setIgnorePortInHostMatching(false).build());
    assertThat(cluster(matching, TestRequest.get("reviews:9080", "/"))).isEqualTo("any");
    assertThat(cluster(matching, TestRequest.get("reviews", "/"))).isEqualTo("r");
  }

  @Test
  void aPortIsTakenOffOnlyWhereThereIsOne() {
    assertThat(RouteTable.withoutPort("reviews:9080")).isEqualTo("reviews");
    assertThat(RouteTable.withoutPort("reviews")).isEqualTo("reviews");
    assertThat(RouteTable.withoutPort("10.0.0.1:80")).isEqualTo("10.0.0.1");
    assertThat(RouteTable.withoutPort("[::1]:80")).isEqualTo("[::1]");
    assertThat(RouteTable.withoutPort("[::1]")).isEqualTo("[::1]");
    assertThat(RouteTable.withoutPort("::1")).isEqualTo("::1");
    assertThat(RouteTable.withoutPort("reviews:")).isEqualTo("reviews");
    assertThat(RouteTable.withoutPort("")).isEqualTo("");
  }

  @Test
  void noVirtualHostOrNoRouteIsNoMatch() {
    RouteTable t =
        RouteTable.compile(
            RouteConfiguration.newBuilder()
                .setName("80")
                .addVirtualHosts(
                    vh("a", List.of("a"), to("a", RouteMatch.newBuilder().setPath("/only"))))
                .build());
    assertThat(t.match(TestRequest.get("b", "/only"))).isEmpty();
    assertThat(t.match(TestRequest.get("a", "/other"))).isEmpty();
  }

  @Test
  void firstMatchingRouteWinsAndPathFormsIgnoreTheQuery() {
    RouteTable t =
        RouteTable.compile(
            RouteConfiguration.newBuilder()
                .setName("80")
                .addVirtualHosts(
                    vh(
                        "h",
                        List.of("*"),
                        to("exact", RouteMatch.newBuilder().setPath("/a")),
                        to(
                            "regex",
                            RouteMatch.newBuilder()
                                .setSafeRegex(RegexMatcher.newBuilder().setRegex("/r/[0-9]+"))),
                        to(
                            "nocase",
                            RouteMatch.newBuilder()
                                .setPrefix("/CASE")
                                .setCaseSensitive(BoolValue.of(false))),
                        to("prefix", RouteMatch.newBuilder().setPrefix("/a")),
                        to("fallback", ALL)))
                .build());
    assertThat(cluster(t, TestRequest.get("x", "/a?x=1"))).isEqualTo("exact");
    assertThat(cluster(t, TestRequest.get("x", "/ab"))).isEqualTo("prefix");
    assertThat(cluster(t, TestRequest.get("x", "/r/42?q"))).isEqualTo("regex");
    assertThat(cluster(t, TestRequest.get("x", "/r/42x")))
        .as("regex must match the whole path")
        .isEqualTo("fallback");
    assertThat(cluster(t, TestRequest.get("x", "/case/z"))).isEqualTo("nocase");
  }

  @Test
  void headersPseudoHeadersAndQueryParameters() {
    RouteMatch.Builder m =
        RouteMatch.newBuilder()
            .setPrefix("/")
            .addHeaders(
                HeaderMatcher.newBuilder()
                    .setName(":method")
                    .setStringMatch(StringMatcher.newBuilder().setExact("POST")))
            .addHeaders(
                HeaderMatcher.newBuilder()
                    .setName("x-build")
                    .setStringMatch(
                        StringMatcher.newBuilder()
                            .setSafeRegex(RegexMatcher.newBuilder().setRegex("b[0-9]+"))))
            .addHeaders(
                HeaderMatcher.newBuilder()
                    .setName("x-skip")
                    .setPresentMatch(true)
                    .setInvertMatch(true))
            .addQueryParameters(
                QueryParameterMatcher.newBuilder()
                    .setName("debug")
                    .setStringMatch(StringMatcher.newBuilder().setExact("1")));
    RouteTable t =
        RouteTable.compile(
            RouteConfiguration.newBuilder()
                .setName("80")
                .addVirtualHosts(vh("h", List.of("*"), to("matched", m), to("other", ALL)))
                .build());
    TestRequest ok =
        new TestRequest("POST", "h", "/x?a=b&debug=1", "http", java.util.Map.of("x-build", "b12"));
    assertThat(cluster(t, ok)).isEqualTo("matched");
    assertThat(cluster(t, ok.with("x-skip", "1"))).isEqualTo("other");
    assertThat(cluster(t, ok.with("x-build", "b12a"))).isEqualTo("other");
    assertThat(
            cluster(
                t,
                new TestRequest(
                    "GET", "h", "/x?debug=1", "http", java.util.Map.of("x-build", "b1"))))
        .isEqualTo("other");
    assertThat(
            cluster(
                t,
                new TestRequest(
                    "POST", "h", "/x?debug=2", "http", java.util.Map.of("x-build", "b1"))))
        .isEqualTo("other");
  }

  @Test
  void redirectAndDirectResponseActions() {
    RouteTable t =
        RouteTable.compile(
            RouteConfiguration.newBuilder()
                .setName("80")
                .addVirtualHosts(
                    vh(
                        "h",
                        List.of("*"),
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPath("/old"))
                            .setRedirect(
                                RedirectAction.newBuilder()
                                    .setPathRedirect("/new")
                                    .setResponseCode(RedirectAction.RedirectResponseCode.FOUND))
                            .build(),
                        Route.newBuilder()
                            .setMatch(ALL)
                            .setDirectResponse(
                                DirectResponseAction.newBuilder()
                                    .setStatus(418)
                                    .setBody(DataSource.newBuilder().setInlineString("teapot")))
                            .build()))
                .build());
    assertThat(t.match(TestRequest.get("h", "/old")).orElseThrow().route().action())
        .isEqualTo(new Action.Redirect(302, "", "", 0, "/new"));
    assertThat(t.match(TestRequest.get("h", "/x")).orElseThrow().route().action())
        .isEqualTo(new Action.Direct(418, "teapot"));
  }

  @Test
  void badConfigIsRefusedWithWhereAndWhy() {
    assertThatThrownBy(
            () ->
                RouteTable.compile(
                    RouteConfiguration.newBuilder()
                        .setName("80")
                        .addVirtualHosts(
                            vh(
                                "h",
                                List.of("*"),
                                to(
                                    "c",
                                    RouteMatch.newBuilder()
                                        .setSafeRegex(RegexMatcher.newBuilder().setRegex("/(")))))
                        .build()))
        .isInstanceOf(RouteConfigException.class)
        .hasMessage(
            "route config 80 virtual host h route 0: regex '/(' does not compile: Unclosed group");
    assertThatThrownBy(
            () ->
                RouteTable.compile(
                    RouteConfiguration.newBuilder()
                        .setName("80")
                        .addVirtualHosts(vh("a", List.of("x"), to("c", ALL)))
                        .addVirtualHosts(vh("b", List.of("x"), to("c", ALL)))
                        .build()))
        .hasMessage("route config 80 virtual host b: domain x is in two virtual hosts");
  }
}
