package io.qmesh.pilot.translate;

import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLB;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBHttpCookie;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBHttpHeaderName;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBHttpQueryParameterName;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBUseSourceIp;
import io.qmesh.api.Durations;
import java.util.Optional;

/** DestinationRule consistentHash keys to the Envoy route hash policy that feeds them. */
final class HashPolicies {

  private HashPolicies() {}

  static Optional<RouteAction.HashPolicy> of(LoadBalancerSettingsConsistentHashLB ch) {
    Object key = ch.getHashKey();
    RouteAction.HashPolicy.Builder p = RouteAction.HashPolicy.newBuilder();
    if (key instanceof LoadBalancerSettingsConsistentHashLBHttpHeaderName h) {
      p.setHeader(RouteAction.HashPolicy.Header.newBuilder().setHeaderName(h.getHttpHeaderName()));
    } else if (key instanceof LoadBalancerSettingsConsistentHashLBHttpCookie c
        && c.getHttpCookie() != null) {
      RouteAction.HashPolicy.Cookie.Builder cookie =
          RouteAction.HashPolicy.Cookie.newBuilder().setName(c.getHttpCookie().getName());
      if (c.getHttpCookie().getPath() != null) {
        cookie.setPath(c.getHttpCookie().getPath());
      }
      if (c.getHttpCookie().getTtl() != null) {
        cookie.setTtl(Envoy.duration(Durations.parse(c.getHttpCookie().getTtl())));
      }
      p.setCookie(cookie);
    } else if (key instanceof LoadBalancerSettingsConsistentHashLBUseSourceIp s
        && Boolean.TRUE.equals(s.getUseSourceIp())) {
      p.setConnectionProperties(
          RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true));
    } else if (key instanceof LoadBalancerSettingsConsistentHashLBHttpQueryParameterName q) {
      p.setQueryParameter(
          RouteAction.HashPolicy.QueryParameter.newBuilder()
              .setName(q.getHttpQueryParameterName()));
    } else {
      return Optional.empty();
    }
    return Optional.of(p.build());
  }
}
