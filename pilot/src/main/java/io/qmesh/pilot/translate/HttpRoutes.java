package io.qmesh.pilot.translate;

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
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.fabric8.istio.api.api.networking.v1alpha3.CorsPolicyUnmatchedPreflights;
import io.fabric8.istio.api.api.networking.v1alpha3.Destination;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPBodyBytes;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPBodyString;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjection;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjectionAbortGrpcStatus;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjectionAbortHttpStatus;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjectionDelayFixedDelay;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirect;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirectDerivePort;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirectPort;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirectRedirectPortSelection;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRetry;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRoute;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRouteDestination;
import io.fabric8.istio.api.api.networking.v1alpha3.Headers;
import io.fabric8.istio.api.api.networking.v1alpha3.HeadersHeaderOperations;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatch;
import io.qmesh.api.Durations;
import io.qmesh.api.MeshNames;
import io.qmesh.pilot.model.MeshService;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.StringMatches;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * VirtualService HTTP routes to Envoy routes; the route actions (matches are {@link RouteMatches}).
 */
final class HttpRoutes {

  private HttpRoutes() {}

  /**
   * Istio's route for a service with no VirtualService: everything to its cluster, default retries.
   */
  static Route defaultRoute(RouteContext ctx, MeshService service, int port) {
    String cluster = MeshNames.outboundCluster(port, null, service.hostname());
    RouteAction.Builder action = RouteAction.newBuilder().setCluster(cluster);
    withDefaults(action, ctx, service, port, null);
    return Route.newBuilder()
        .setName("default")
        .setDecorator(decorator(service.hostname(), port))
        .setMatch(io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder().setPrefix("/"))
        .setRoute(action)
        .build();
  }

  /**
   * Istio's decorator: the operation (span name) of a route's requests, {@code host:port/*} of its
   * destination.
   */
  static io.envoyproxy.envoy.config.route.v3.Decorator decorator(String host, int port) {
    return io.envoyproxy.envoy.config.route.v3.Decorator.newBuilder()
        .setOperation(host + ":" + port + "/*")
        .build();
  }

  /** The routes of one VirtualService in namespace {@code vsNamespace}, in order. */
  static List<Route> routes(RouteContext ctx, String vsNamespace, List<HTTPRoute> http) {
    List<Route> out = new ArrayList<>();
    for (HTTPRoute r : http) {
      for (var match : RouteMatches.of(ctx, vsNamespace, r.getMatch())) {
        Route.Builder route = Route.newBuilder().setMatch(match);
        if (r.getName() != null) {
          route.setName(r.getName());
        }
        if (r.getRedirect() != null) {
          route.setRedirect(redirect(r.getRedirect(), ctx.port()));
        } else if (r.getDirectResponse() != null) {
          route.setDirectResponse(directResponse(r.getDirectResponse()));
        } else {
          route.setRoute(action(ctx, vsNamespace, r));
          Target first = target(ctx, vsNamespace, r.getRoute().get(0).getDestination());
          if (first.service() != null) {
            route.setDecorator(decorator(first.service().hostname(), first.port()));
          }
        }
        if (r.getFault() != null) {
          route.putTypedPerFilterConfig(Envoy.FAULT, Any.pack(fault(r.getFault())));
        }
        if (r.getCorsPolicy() != null && !ctx.proxy().proxyless()) {
          route.putTypedPerFilterConfig(Envoy.CORS, Any.pack(cors(r.getCorsPolicy())));
        }
        if (r.getRoute().size() == 1) {
          headers(r.getRoute().get(0).getHeaders(), route);
        }
        headers(r.getHeaders(), route);
        out.add(route.build());
      }
    }
    return out;
  }

  private static RouteAction action(RouteContext ctx, String vsNamespace, HTTPRoute r) {
    RouteAction.Builder action = RouteAction.newBuilder();
    List<HTTPRouteDestination> dests =
        r.getRoute().stream().filter(d -> d.getWeight() == null || d.getWeight() > 0).toList();
    if (dests.isEmpty()) {
      dests = r.getRoute();
    }
    Target first = target(ctx, vsNamespace, dests.get(0).getDestination());
    if (dests.size() == 1) {
      action.setCluster(first.cluster());
    } else {
      WeightedCluster.Builder wc = WeightedCluster.newBuilder();
      boolean anyWeight = dests.stream().anyMatch(d -> d.getWeight() != null);
      for (HTTPRouteDestination d : dests) {
        int weight = anyWeight ? (d.getWeight() == null ? 0 : d.getWeight()) : 1;
        WeightedCluster.ClusterWeight.Builder cw =
            WeightedCluster.ClusterWeight.newBuilder()
                .setName(target(ctx, vsNamespace, d.getDestination()).cluster())
                .setWeight(UInt32Value.of(weight));
        if (d.getHeaders() != null) {
          ops(
              d.getHeaders().getRequest(),
              cw::addRequestHeadersToAdd,
              cw::addRequestHeadersToRemove);
          ops(
              d.getHeaders().getResponse(),
              cw::addResponseHeadersToAdd,
              cw::addResponseHeadersToRemove);
        }
        wc.addClusters(cw);
      }
      action.setWeightedClusters(wc);
    }
    withDefaults(action, ctx, first.service(), first.port(), first.subset());
    if (r.getTimeout() != null) {
      action.setTimeout(Envoy.duration(Durations.parse(r.getTimeout())));
    }
    if (r.getRetries() != null) {
      retries(r.getRetries(), action);
    }
    if (r.getRewrite() != null) {
      var rw = r.getRewrite();
      if (rw.getUri() != null) {
        action.setPrefixRewrite(rw.getUri());
      }
      if (rw.getUriRegexRewrite() != null) {
        action.setRegexRewrite(
            RegexMatchAndSubstitute.newBuilder()
                .setPattern(RegexMatcher.newBuilder().setRegex(rw.getUriRegexRewrite().getMatch()))
                .setSubstitution(rw.getUriRegexRewrite().getRewrite()));
      }
      if (rw.getAuthority() != null) {
        action.setHostRewriteLiteral(rw.getAuthority());
      }
    }
    List<io.fabric8.istio.api.api.networking.v1alpha3.HTTPMirrorPolicy> mirrors =
        new ArrayList<>(r.getMirrors());
    if (r.getMirror() != null) {
      mirrors.add(
          new io.fabric8.istio.api.api.networking.v1alpha3.HTTPMirrorPolicy(
              r.getMirror(), r.getMirrorPercentage()));
    }
    for (var m : mirrors) {
      action.addRequestMirrorPolicies(
          RouteAction.RequestMirrorPolicy.newBuilder()
              .setCluster(target(ctx, vsNamespace, m.getDestination()).cluster())
              .setRuntimeFraction(
                  RuntimeFractionalPercent.newBuilder()
                      .setDefaultValue(
                          Envoy.percent(
                              m.getPercentage() == null ? null : m.getPercentage().getValue()))));
    }
    return action.build();
  }

  /** A route destination resolved to a cluster that exists (BlackHoleCluster otherwise). */
  record Target(String cluster, MeshService service, int port, String subset) {}

  static Target target(RouteContext ctx, String vsNamespace, Destination d) {
    String host = MeshSnapshot.resolveHost(d.getHost(), vsNamespace);
    Optional<MeshService> service =
        ctx.mesh().service(host).filter(s -> s.visibleFrom(ctx.proxy().namespace()));
    if (service.isEmpty()) {
      return new Target(MeshNames.BLACKHOLE_CLUSTER, null, 0, null);
    }
    int port;
    if (d.getPort() != null && d.getPort().getNumber() != null) {
      port = d.getPort().getNumber().intValue();
    } else if (service.get().ports().size() == 1) {
      port = service.get().ports().get(0).port();
    } else {
      port = ctx.port();
    }
    String subset = d.getSubset() == null || d.getSubset().isEmpty() ? null : d.getSubset();
    String cluster = MeshNames.outboundCluster(port, subset, host);
    // A route to a subset or port that does not exist fails its requests (503), as in Istio.
    return new Target(
        ctx.clusters().contains(cluster) ? cluster : MeshNames.BLACKHOLE_CLUSTER,
        service.get(),
        port,
        subset);
  }

  /**
   * Istio's defaults on every route: no timeout, default retries, hashing per the DestinationRule.
   */
  private static void withDefaults(
      RouteAction.Builder action, RouteContext ctx, MeshService service, int port, String subset) {
    action.setTimeout(Envoy.duration(Duration.ZERO));
    action.setRetryPolicy(defaultRetries());
    if (service != null) {
      Policy.of(ctx.mesh(), ctx.proxy().namespace(), service, port, subset)
          .consistentHash()
          .flatMap(HashPolicies::of)
          .ifPresent(action::addHashPolicy);
    }
  }

  static RetryPolicy defaultRetries() {
    return RetryPolicy.newBuilder()
        .setRetryOn("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes")
        .addRetriableStatusCodes(503)
        .setNumRetries(UInt32Value.of(2))
        .addRetryHostPredicate(
            RetryPolicy.RetryHostPredicate.newBuilder()
                .setName("envoy.retry_host_predicates.previous_hosts")
                .setTypedConfig(Any.pack(PreviousHostsPredicate.getDefaultInstance())))
        .setHostSelectionRetryMaxAttempts(5)
        .build();
  }

  private static void retries(HTTPRetry retry, RouteAction.Builder action) {
    if (retry.getAttempts() != null && retry.getAttempts() == 0) {
      action.clearRetryPolicy();
      return;
    }
    RetryPolicy.Builder p = defaultRetries().toBuilder();
    if (retry.getAttempts() != null) {
      p.setNumRetries(UInt32Value.of(retry.getAttempts()));
    }
    if (retry.getPerTryTimeout() != null) {
      p.setPerTryTimeout(Envoy.duration(Durations.parse(retry.getPerTryTimeout())));
    }
    if (retry.getRetryOn() != null && !retry.getRetryOn().isBlank()) {
      // The VirtualService's conditions replace the default's, status codes included.
      p.clearRetriableStatusCodes();
      List<String> on = new ArrayList<>();
      for (String part : retry.getRetryOn().split(",")) {
        String s = part.trim();
        if (s.matches("\\d{3}")) {
          p.addRetriableStatusCodes(Integer.parseInt(s));
          if (!on.contains("retriable-status-codes")) {
            on.add("retriable-status-codes");
          }
        } else if (!s.isEmpty()) {
          on.add(s);
        }
      }
      p.setRetryOn(String.join(",", on));
    }
    if (Boolean.FALSE.equals(retry.getRetryIgnorePreviousHosts())) {
      p.clearRetryHostPredicate();
    }
    action.setRetryPolicy(p);
  }

  private static HTTPFault fault(HTTPFaultInjection f) {
    HTTPFault.Builder out = HTTPFault.newBuilder();
    if (f.getDelay() != null
        && f.getDelay().getHttpDelayType() instanceof HTTPFaultInjectionDelayFixedDelay fd) {
      Double pct =
          f.getDelay().getPercentage() != null
              ? f.getDelay().getPercentage().getValue()
              : f.getDelay().getPercent() != null
                  ? Double.valueOf(f.getDelay().getPercent())
                  : null;
      out.setDelay(
          FaultDelay.newBuilder()
              .setFixedDelay(Envoy.duration(Durations.parse(fd.getFixedDelay())))
              .setPercentage(Envoy.percent(pct)));
    }
    if (f.getAbort() != null) {
      FaultAbort.Builder abort =
          FaultAbort.newBuilder()
              .setPercentage(
                  Envoy.percent(
                      f.getAbort().getPercentage() == null
                          ? null
                          : f.getAbort().getPercentage().getValue()));
      if (f.getAbort().getErrorType() instanceof HTTPFaultInjectionAbortHttpStatus hs) {
        abort.setHttpStatus(hs.getHttpStatus());
      } else if (f.getAbort().getErrorType() instanceof HTTPFaultInjectionAbortGrpcStatus gs) {
        abort.setGrpcStatus(GrpcStatus.code(gs.getGrpcStatus()));
      }
      out.setAbort(abort);
    }
    return out.build();
  }

  /**
   * Istio's corsPolicy: origins as string matchers (the deprecated {@code allowOrigin} as exact
   * ones), lists joined with commas, {@code maxAge} in seconds, unmatched preflights forwarded
   * unless {@code IGNORE}.
   */
  private static CorsPolicy cors(io.fabric8.istio.api.api.networking.v1alpha3.CorsPolicy c) {
    CorsPolicy.Builder out = CorsPolicy.newBuilder();
    for (StringMatch origin : c.getAllowOrigins()) {
      out.addAllowOriginStringMatch(RouteMatches.string(StringMatches.of(origin)));
    }
    for (String origin : c.getAllowOrigin()) {
      out.addAllowOriginStringMatch(StringMatcher.newBuilder().setExact(origin));
    }
    out.setAllowMethods(String.join(",", c.getAllowMethods()));
    out.setAllowHeaders(String.join(",", c.getAllowHeaders()));
    out.setExposeHeaders(String.join(",", c.getExposeHeaders()));
    if (c.getMaxAge() != null) {
      out.setMaxAge(String.valueOf(Durations.parse(c.getMaxAge()).getSeconds()));
    }
    if (c.getAllowCredentials() != null) {
      out.setAllowCredentials(BoolValue.of(c.getAllowCredentials()));
    }
    out.setForwardNotMatchingPreflights(
        BoolValue.of(c.getUnmatchedPreflights() != CorsPolicyUnmatchedPreflights.IGNORE));
    return out.build();
  }

  private static RedirectAction redirect(HTTPRedirect r, int requestPort) {
    RedirectAction.Builder out = RedirectAction.newBuilder();
    if (r.getUri() != null) {
      out.setPathRedirect(r.getUri());
    }
    if (r.getAuthority() != null) {
      out.setHostRedirect(r.getAuthority());
    }
    if (r.getScheme() != null) {
      out.setSchemeRedirect(r.getScheme());
    }
    if (r.getRedirectPort() instanceof HTTPRedirectPort p && p.getPort() != null) {
      out.setPortRedirect(p.getPort().intValue());
    } else if (r.getRedirectPort() instanceof HTTPRedirectDerivePort d
        && d.getDerivePort() == HTTPRedirectRedirectPortSelection.FROM_REQUEST_PORT
        && requestPort > 0) {
      // Envoy cannot derive it per request, but a route config belongs to one port: Istio's way.
      out.setPortRedirect(requestPort);
    }
    int code = r.getRedirectCode() == null ? 301 : r.getRedirectCode().intValue();
    out.setResponseCode(
        switch (code) {
          case 302 -> RedirectAction.RedirectResponseCode.FOUND;
          case 303 -> RedirectAction.RedirectResponseCode.SEE_OTHER;
          case 307 -> RedirectAction.RedirectResponseCode.TEMPORARY_REDIRECT;
          case 308 -> RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT;
          default -> RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY;
        });
    return out.build();
  }

  private static DirectResponseAction directResponse(
      io.fabric8.istio.api.api.networking.v1alpha3.HTTPDirectResponse d) {
    DirectResponseAction.Builder out =
        DirectResponseAction.newBuilder().setStatus(d.getStatus().intValue());
    if (d.getBody() != null && d.getBody().getSpecifier() instanceof HTTPBodyString s) {
      out.setBody(DataSource.newBuilder().setInlineString(s.getString()));
    } else if (d.getBody() != null && d.getBody().getSpecifier() instanceof HTTPBodyBytes b) {
      out.setBody(
          DataSource.newBuilder()
              .setInlineBytes(
                  com.google.protobuf.ByteString.copyFrom(
                      java.util.Base64.getDecoder().decode(b.getBytes()))));
    }
    return out.build();
  }

  private static void headers(Headers h, Route.Builder route) {
    if (h == null) {
      return;
    }
    ops(h.getRequest(), route::addRequestHeadersToAdd, route::addRequestHeadersToRemove);
    ops(h.getResponse(), route::addResponseHeadersToAdd, route::addResponseHeadersToRemove);
  }

  private static void ops(
      HeadersHeaderOperations ops,
      java.util.function.Consumer<HeaderValueOption> add,
      java.util.function.Consumer<String> remove) {
    if (ops == null) {
      return;
    }
    new java.util.TreeMap<>(ops.getSet())
        .forEach((k, v) -> add.accept(header(k, v, HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)));
    new java.util.TreeMap<>(ops.getAdd())
        .forEach((k, v) -> add.accept(header(k, v, HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD)));
    ops.getRemove().forEach(remove);
  }

  private static HeaderValueOption header(String name, String value, HeaderAppendAction action) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
        .setAppendAction(action)
        .build();
  }
}
