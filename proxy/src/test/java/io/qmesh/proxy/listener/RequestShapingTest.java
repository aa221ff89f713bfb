package io.qmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.qmesh.proxy.xds.XdsResources;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Fault injection, mirroring, header changes, rewrites, redirects, direct responses and CORS,
 * enforced by the proxy over real sockets with the Envoy settings pilot writes for Istio's fields.
 */
class RequestShapingTest {

  private Backends b;
  private int app;
  private int shadow;

  @BeforeEach
  void start() throws Exception {
    b = new Backends();
    app = b.start();
    shadow = b.start();
  }

  @AfterEach
  void stop() throws Exception {
    b.close();
  }

  private static FractionalPercent percent(double p) {
    return FractionalPercent.newBuilder()
        .setNumerator((int) Math.round(p * 10_000))
        .setDenominator(FractionalPercent.DenominatorType.MILLION)
        .build();
  }

  private static Route.Builder prefix(String prefix) {
    return Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix(prefix));
  }

  private static RouteAction.Builder toApp() {
    return RouteAction.newBuilder().setCluster("app");
  }

  private static HeaderValueOption header(String name, String value, HeaderAppendAction a) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
        .setAppendAction(a)
        .build();
  }

  /** Host {@code app:9080} with these routes; clusters "app" and "shadow". */
  private void use(Route.Builder... routes) {
    VirtualHost.Builder vh = VirtualHost.newBuilder().setName("app").addDomains("app:9080");
    for (Route.Builder r : routes) {
      vh.addRoutes(r);
    }
    b.use(
        new XdsResources(
            Map.of(),
            Map.of(
                "9080",
                RouteConfiguration.newBuilder().setName("9080").addVirtualHosts(vh).build()),
            Map.of("app", TestXds.eds("app").build(), "shadow", TestXds.eds("shadow").build()),
            Map.of("app", TestXds.cla("app", app), "shadow", TestXds.cla("shadow", shadow))));
  }

  private static Route.Builder withFault(Route.Builder r, HTTPFault fault) {
    return r.putTypedPerFilterConfig("envoy.filters.http.fault", Any.pack(fault));
  }

  @Test
  void anAbortAtFiftyPercentLandsWithinTenPointsOver200Requests() throws Exception {
    use(
        withFault(
            prefix("/").setRoute(toApp()),
            HTTPFault.newBuilder()
                .setAbort(FaultAbort.newBuilder().setHttpStatus(500).setPercentage(percent(50)))
                .build()));

    int aborted = 0;
    for (int i = 0; i < 200; i++) {
      HttpResponse<String> r = b.get("app:9080", "/");
      if (r.statusCode() == 500) {
        assertThat(r.body()).isEqualTo("fault filter abort");
        aborted++;
      } else {
        assertThat(r.statusCode()).isEqualTo(200);
      }
    }
    assertThat(aborted).isBetween(80, 120);
    assertThat(b.received).hasSize(200 - aborted);
    assertThat(b.flagCount("FI")).isEqualTo(aborted);
  }

  @Test
  void aDelayHoldsTheRequestBeforeItIsRouted() throws Exception {
    use(
        withFault(
            prefix("/").setRoute(toApp()),
            HTTPFault.newBuilder()
                .setDelay(
                    FaultDelay.newBuilder()
                        .setFixedDelay(ResilienceTest.millis(400))
                        .setPercentage(percent(100)))
                .build()));

    long start = System.nanoTime();
    HttpResponse<String> r = b.get("app:9080", "/");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat((System.nanoTime() - start) / 1_000_000).isGreaterThanOrEqualTo(400);
    assertThat(b.flagCount("DI")).isEqualTo(1);
  }

  @Test
  void aDelayIsNotCountedAgainstTheRouteTimeoutButAnAbortFollowsIt() throws Exception {
    use(
        withFault(
            prefix("/").setRoute(toApp().setTimeout(ResilienceTest.millis(100))),
            HTTPFault.newBuilder()
                .setDelay(FaultDelay.newBuilder().setFixedDelay(ResilienceTest.millis(300)))
                .setAbort(FaultAbort.newBuilder().setHttpStatus(418))
                .build()));

    HttpResponse<String> r = b.get("app:9080", "/");

    assertThat(r.statusCode()).isEqualTo(418);
    assertThat(b.received).isEmpty();
  }

  @Test
  void aGrpcAbortAnswersWithTheGrpcStatusInTrailers() throws Exception {
    use(
        withFault(
            prefix("/").setRoute(toApp()),
            HTTPFault.newBuilder().setAbort(FaultAbort.newBuilder().setGrpcStatus(14)).build()));

    // Raw HTTP/1.1 to read the chunked trailers the way a gRPC-aware client would.
    try (var socket = new java.net.Socket("127.0.0.1", b.proxyPort)) {
      socket
          .getOutputStream()
          .write(
              ("POST http://app:9080/pkg.Svc/Call HTTP/1.1\r\nHost: app:9080\r\n"
                      + "content-type: application/grpc\r\nte: trailers\r\ncontent-length: 0\r\n\r\n")
                  .getBytes());
      socket.setSoTimeout(5000);
      StringBuilder all = new StringBuilder();
      var in = socket.getInputStream();
      int c;
      while (!all.toString().contains("grpc-message") && (c = in.read()) >= 0) {
        all.append((char) c);
      }
      assertThat(all.toString()).startsWith("HTTP/1.1 200").contains("grpc-status: 14");
    }
  }

  @Test
  void mirrorsGetACopyWithTheShadowHostAndTheirAnswersAreIgnored() throws Exception {
    use(
        prefix("/")
            .setRoute(
                toApp()
                    .addRequestMirrorPolicies(
                        RouteAction.RequestMirrorPolicy.newBuilder()
                            .setCluster("shadow")
                            .setRuntimeFraction(
                                RuntimeFractionalPercent.newBuilder()
                                    .setDefaultValue(percent(100))))));

    HttpResponse<String> r = b.send("POST", "app:9080", "/status/201", "the body");

    assertThat(r.statusCode()).isEqualTo(201);
    assertThat(r.headers().firstValue("backend")).hasValue(String.valueOf(app));
    Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> b.received.stream().anyMatch(x -> x.port() == shadow));
    Backends.Received copy =
        b.received.stream().filter(x -> x.port() == shadow).findFirst().orElseThrow();
    assertThat(copy.host()).isEqualTo("app-shadow:9080");
    assertThat(copy.method()).isEqualTo("POST");
    assertThat(copy.headers()).containsEntry("content-length", "8");
  }

  @Test
  void aMirrorThatIsDownChangesNothing() throws Exception {
    b.stop(shadow);
    use(
        prefix("/")
            .setRoute(
                toApp()
                    .addRequestMirrorPolicies(
                        RouteAction.RequestMirrorPolicy.newBuilder().setCluster("shadow"))));

    for (int i = 0; i < 5; i++) {
      assertThat(b.get("app:9080", "/").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void headersAreSetAddedAndRemovedOnRequestsAndResponses() throws Exception {
    use(
        prefix("/")
            .setRoute(toApp())
            .addRequestHeadersToAdd(
                header("x-env", "prod", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
            .addRequestHeadersToAdd(
                header("x-trace", "1", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD))
            .addRequestHeadersToRemove("x-internal")
            .addResponseHeadersToAdd(
                header("cache-control", "no-store", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
            .addResponseHeadersToRemove("seen"));

    HttpResponse<String> r =
        b.get("app:9080", "/", "x-env", "dev", "x-trace", "0", "x-internal", "secret");

    Backends.Received got = b.received.peek();
    assertThat(got.headers())
        .containsEntry("x-env", "prod")
        .containsEntry("x-trace", "0,1")
        .doesNotContainKey("x-internal");
    assertThat(r.headers().firstValue("cache-control")).hasValue("no-store");
    assertThat(r.headers().firstValue("seen")).isEmpty();
  }

  @Test
  void aWeightedDestinationAddsItsOwnHeaders() throws Exception {
    use(
        prefix("/")
            .setRoute(
                RouteAction.newBuilder()
                    .setWeightedClusters(
                        WeightedCluster.newBuilder()
                            .addClusters(
                                WeightedCluster.ClusterWeight.newBuilder()
                                    .setName("app")
                                    .setWeight(UInt32Value.of(100))
                                    .addRequestHeadersToAdd(
                                        header(
                                            "x-dest",
                                            "app",
                                            HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
                                    .addResponseHeadersToAdd(
                                        header(
                                            "x-served-by",
                                            "app",
                                            HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD)))
                            .addClusters(
                                WeightedCluster.ClusterWeight.newBuilder()
                                    .setName("shadow")
                                    .setWeight(UInt32Value.of(0))))));

    HttpResponse<String> r = b.get("app:9080", "/");

    assertThat(b.received.peek().headers()).containsEntry("x-dest", "app");
    assertThat(r.headers().firstValue("x-served-by")).hasValue("app");
  }

  @Test
  void rewritesReplaceThePrefixThePatternAndTheAuthority() throws Exception {
    use(
        prefix("/v2/")
            .setRoute(
                toApp().setPrefixRewrite("/status/").setHostRewriteLiteral("details.internal")),
        prefix("/legacy/")
            .setRoute(
                toApp()
                    .setRegexRewrite(
                        RegexMatchAndSubstitute.newBuilder()
                            .setPattern(
                                RegexMatcher.newBuilder().setRegex("^/legacy/(\\w+)/(\\d+)"))
                            .setSubstitution("/\\1/\\2"))));

    HttpResponse<String> r = b.get("app:9080", "/v2/202?x=1");
    assertThat(r.statusCode()).isEqualTo(202);
    Backends.Received first = b.received.poll();
    assertThat(first.path()).isEqualTo("/status/202?x=1");
    assertThat(first.host()).isEqualTo("details.internal");

    assertThat(b.get("app:9080", "/legacy/status/203").statusCode()).isEqualTo(203);
    assertThat(b.received.poll().path()).isEqualTo("/status/203");
  }

  @Test
  void redirectsKeepWhatTheyDoNotReplace() throws Exception {
    use(
        prefix("/old")
            .setRedirect(
                RedirectAction.newBuilder()
                    .setPathRedirect("/new")
                    .setResponseCode(RedirectAction.RedirectResponseCode.FOUND)),
        prefix("/away")
            .setRedirect(
                RedirectAction.newBuilder()
                    .setHostRedirect("example.com")
                    .setSchemeRedirect("https")
                    .setPortRedirect(8443)));

    HttpResponse<String> moved = b.get("app:9080", "/old?q=1");
    assertThat(moved.statusCode()).isEqualTo(302);
    assertThat(moved.headers().firstValue("location")).hasValue("http://app:9080/new?q=1");

    HttpResponse<String> away = b.get("app:9080", "/away/x");
    assertThat(away.statusCode()).isEqualTo(301);
    assertThat(away.headers().firstValue("location")).hasValue("https://example.com:8443/away/x");
  }

  @Test
  void aDirectResponseAnswersWithoutAnUpstream() throws Exception {
    use(
        prefix("/teapot")
            .setDirectResponse(
                DirectResponseAction.newBuilder()
                    .setStatus(418)
                    .setBody(DataSource.newBuilder().setInlineString("I'm a teapot"))));

    HttpResponse<String> r = b.get("app:9080", "/teapot");

    assertThat(r.statusCode()).isEqualTo(418);
    assertThat(r.body()).isEqualTo("I'm a teapot");
    assertThat(b.received).isEmpty();
  }

  private Route.Builder withCors(Route.Builder r, boolean forwardUnmatched) {
    return r.putTypedPerFilterConfig(
        "envoy.filters.http.cors",
        Any.pack(
            CorsPolicy.newBuilder()
                .addAllowOriginStringMatch(
                    StringMatcher.newBuilder().setExact("https://shop.example"))
                .addAllowOriginStringMatch(
                    StringMatcher.newBuilder()
                        .setSafeRegex(RegexMatcher.newBuilder().setRegex("https://.*\\.test")))
                .setAllowMethods("GET,POST")
                .setAllowHeaders("x-user")
                .setExposeHeaders("x-version")
                .setMaxAge("86400")
                .setAllowCredentials(BoolValue.of(true))
                .setForwardNotMatchingPreflights(BoolValue.of(forwardUnmatched))
                .build()));
  }

  private HttpResponse<String> preflight(String origin) throws Exception {
    return b.send(
        "OPTIONS",
        "app:9080",
        "/",
        null,
        "origin",
        origin,
        "access-control-request-method",
        "POST");
  }

  @Test
  void corsPreflightsFromAnAllowedOriginAreAnsweredByTheProxy() throws Exception {
    use(withCors(prefix("/").setRoute(toApp()), true));

    HttpResponse<String> pre = preflight("https://a.test");

    assertThat(pre.statusCode()).isEqualTo(200);
    assertThat(pre.headers().firstValue("access-control-allow-origin")).hasValue("https://a.test");
    assertThat(pre.headers().firstValue("access-control-allow-methods")).hasValue("GET,POST");
    assertThat(pre.headers().firstValue("access-control-allow-headers")).hasValue("x-user");
    assertThat(pre.headers().firstValue("access-control-max-age")).hasValue("86400");
    assertThat(pre.headers().firstValue("access-control-allow-credentials")).hasValue("true");
    assertThat(b.received).isEmpty();

    HttpResponse<String> actual = b.get("app:9080", "/", "origin", "https://shop.example");
    assertThat(actual.headers().firstValue("access-control-allow-origin"))
        .hasValue("https://shop.example");
    assertThat(actual.headers().firstValue("access-control-expose-headers")).hasValue("x-version");

    HttpResponse<String> other = b.get("app:9080", "/", "origin", "https://evil.example");
    assertThat(other.statusCode()).isEqualTo(200);
    assertThat(other.headers().firstValue("access-control-allow-origin")).isEmpty();

    // An unmatched preflight is forwarded to the app (Istio's default, unmatchedPreflights
    // FORWARD).
    preflight("https://evil.example");
    assertThat(b.received).extracting(Backends.Received::method).contains("OPTIONS");
  }

  @Test
  void unmatchedPreflightsAreNotForwardedWhenThePolicySaysIgnore() throws Exception {
    use(withCors(prefix("/").setRoute(toApp()), false));

    HttpResponse<String> pre = preflight("https://evil.example");

    assertThat(pre.statusCode()).isEqualTo(200);
    assertThat(pre.headers().firstValue("access-control-allow-origin")).isEmpty();
    assertThat(b.received).isEmpty();
  }
}
