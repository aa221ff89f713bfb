package io.qmesh.pilot.ingest;

import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjectionAbortHttpStatus;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjectionDelayFixedDelay;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRoute;
import io.fabric8.istio.api.api.networking.v1alpha3.Percent;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatch;
import io.fabric8.istio.api.networking.v1.DestinationRule;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.fabric8.istio.api.networking.v1.ServiceEntry;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.fabric8.istio.api.networking.v1.WorkloadEntry;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.qmesh.api.Durations;
import io.qmesh.api.config.ConfigKind;
import io.qmesh.api.config.ConfigObject;
import io.qmesh.pilot.ingest.Finding.Severity;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.StringMatches;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Checks configuration at apply time, as Istio's validation webhook and {@code istioctl analyze}
 * do: errors (malformed fields, missing required ones, unknown fields) reject the apply; warnings
 * (a route to a subset no DestinationRule defines, a kind qmesh stores but does not enforce yet)
 * are reported and let it through.
 */
public final class Validator {

  private Validator() {}

  /**
   * @param incoming the objects being applied
   * @param after the whole store as it would be after the apply, for cross-object checks
   */
  public static List<Finding> validate(
      List<ConfigObject<HasMetadata>> incoming, Collection<ConfigObject<HasMetadata>> after) {
    List<Finding> out = new ArrayList<>();
    for (ConfigObject<HasMetadata> o : incoming) {
      Check c = new Check(o.key().toString(), out);
      if (o.key().kind() != ConfigKind.SERVICE && o.key().kind() != ConfigKind.NAMESPACE) {
        Object spec = specOf(o.object());
        if (spec == null) {
          c.error("spec", "required");
          continue;
        }
        UnknownFields.find(spec, "spec").forEach(f -> c.error(f, "unknown field"));
      }
      switch (o.key().kind()) {
        case VIRTUAL_SERVICE -> virtualService(o.as(VirtualService.class), c, after);
        case DESTINATION_RULE -> destinationRule(o.as(DestinationRule.class), c);
        case GATEWAY -> gateway(o.as(Gateway.class), c);
        case SERVICE_ENTRY -> serviceEntry(o.as(ServiceEntry.class), c);
        case WORKLOAD_ENTRY -> workloadEntry(o.as(WorkloadEntry.class), c);
        case SERVICE -> service(o.as(Service.class), c);
        case TELEMETRY -> telemetry(o.as(io.fabric8.istio.api.telemetry.v1.Telemetry.class), c);
        case AUTHORIZATION_POLICY ->
            c.warn(
                "",
                "stored, but not enforced: qmesh's proxies do not apply authorization policies"
                    + " yet, so the requests it would deny are let through");
        case REQUEST_AUTHENTICATION ->
            c.warn(
                "",
                "stored, but not enforced: qmesh's proxies do not validate JWTs yet, so requests"
                    + " with invalid tokens are let through");
        case SIDECAR -> sidecar(o.as(io.fabric8.istio.api.networking.v1.Sidecar.class), c);
        case ENVOY_FILTER ->
            c.warn(
                "",
                "stored, but not applied: qmesh's proxies are not Envoy and take no EnvoyFilter"
                    + " patches");
        default -> {}
      }
    }
    return out;
  }

  private static Object specOf(HasMetadata m) {
    try {
      return m.getClass().getMethod("getSpec").invoke(m);
    } catch (ReflectiveOperationException e) {
      return null;
    }
  }

  private static void virtualService(
      VirtualService vs, Check c, Collection<ConfigObject<HasMetadata>> after) {
    var spec = vs.getSpec();
    String ns = vs.getMetadata().getNamespace();
    if (spec.getHosts().isEmpty()) {
      c.error("spec.hosts", "at least one host is required");
    }
    for (int i = 0; i < spec.getHosts().size(); i++) {
      if (spec.getHosts().get(i) == null || spec.getHosts().get(i).isBlank()) {
        c.error("spec.hosts[" + i + "]", "empty host");
      }
    }
    Map<String, Set<String>> subsets = subsetsByHost(after);
    for (int i = 0; i < spec.getHttp().size(); i++) {
      HTTPRoute r = spec.getHttp().get(i);
      String p = "spec.http[" + i + "]";
      if (r.getRoute().isEmpty()
          && r.getRedirect() == null
          && r.getDirectResponse() == null
          && r.getDelegate() == null) {
        c.error(p, "needs a route, redirect or directResponse");
      }
      if (!r.getRoute().isEmpty() && (r.getRedirect() != null || r.getDirectResponse() != null)) {
        c.error(p, "route cannot be combined with redirect or directResponse");
      }
      for (int m = 0; m < r.getMatch().size(); m++) {
        var match = r.getMatch().get(m);
        String mp = p + ".match[" + m + "]";
        regex(c, mp + ".uri", match.getUri());
        regex(c, mp + ".authority", match.getAuthority());
        regex(c, mp + ".method", match.getMethod());
        regex(c, mp + ".scheme", match.getScheme());
        match.getHeaders().forEach((h, sm) -> regex(c, mp + ".headers." + h, sm));
        match.getQueryParams().forEach((q, sm) -> regex(c, mp + ".queryParams." + q, sm));
        match.getWithoutHeaders().forEach((h, sm) -> regex(c, mp + ".withoutHeaders." + h, sm));
        if (match.getPort() != null && (match.getPort() < 1 || match.getPort() > 65535)) {
          c.error(mp + ".port", match.getPort() + " is not a port number");
        }
      }
      for (int d = 0; d < r.getRoute().size(); d++) {
        var dest = r.getRoute().get(d);
        String dp = p + ".route[" + d + "]";
        if (dest.getDestination() == null
            || dest.getDestination().getHost() == null
            || dest.getDestination().getHost().isBlank()) {
          c.error(dp + ".destination.host", "required");
          continue;
        }
        if (dest.getWeight() != null && dest.getWeight() < 0) {
          c.error(dp + ".weight", "must not be negative, got " + dest.getWeight());
        }
        String subset = dest.getDestination().getSubset();
        if (subset != null && !subset.isEmpty()) {
          String host = MeshSnapshot.resolveHost(dest.getDestination().getHost(), ns);
          if (!subsets.getOrDefault(host, Set.of()).contains(subset)) {
            c.warn(
                dp + ".destination.subset",
                "subset '"
                    + subset
                    + "' of host "
                    + host
                    + " is not defined by any DestinationRule");
          }
        }
      }
      duration(c, p + ".timeout", r.getTimeout());
      if (r.getRetries() != null) {
        if (r.getRetries().getAttempts() != null && r.getRetries().getAttempts() < 0) {
          c.error(p + ".retries.attempts", "must not be negative");
        }
        duration(c, p + ".retries.perTryTimeout", r.getRetries().getPerTryTimeout());
      }
      if (r.getFault() != null) {
        var f = r.getFault();
        if (f.getDelay() != null) {
          if (f.getDelay().getHttpDelayType() instanceof HTTPFaultInjectionDelayFixedDelay fd) {
            duration(c, p + ".fault.delay.fixedDelay", fd.getFixedDelay());
          } else {
            c.error(p + ".fault.delay", "fixedDelay is required");
          }
          percentage(c, p + ".fault.delay.percentage", f.getDelay().getPercentage());
        }
        if (f.getAbort() != null) {
          if (f.getAbort().getErrorType() instanceof HTTPFaultInjectionAbortHttpStatus hs
              && (hs.getHttpStatus() < 200 || hs.getHttpStatus() > 599)) {
            c.error(
                p + ".fault.abort.httpStatus",
                hs.getHttpStatus() + " is not an HTTP status between 200 and 599");
          }
          if (f.getAbort().getErrorType() == null) {
            c.error(p + ".fault.abort", "httpStatus or grpcStatus is required");
          }
          percentage(c, p + ".fault.abort.percentage", f.getAbort().getPercentage());
        }
      }
      if (r.getMirrorPercentage() != null) {
        percentage(c, p + ".mirrorPercentage", r.getMirrorPercentage());
      }
      combinations(r, p, c);
      if (r.getCorsPolicy() != null) {
        var cors = r.getCorsPolicy();
        duration(c, p + ".corsPolicy.maxAge", cors.getMaxAge());
        for (int o = 0; o < cors.getAllowOrigins().size(); o++) {
          regex(c, p + ".corsPolicy.allowOrigins[" + o + "]", cors.getAllowOrigins().get(o));
        }
      }
    }
  }

  /**
   * The warnings about settings that work against each other on the HTTP routes of a VirtualService
   * spec (see {@link #combinations}), for {@code object}; what {@code qmesh analyze} reports on the
   * running config.
   */
  public static List<Finding> routeCombinations(
      io.fabric8.istio.api.api.networking.v1alpha3.VirtualService spec, String object) {
    List<Finding> out = new ArrayList<>();
    Check c = new Check(object, out);
    for (int i = 0; i < spec.getHttp().size(); i++) {
      combinations(spec.getHttp().get(i), "spec.http[" + i + "]", c);
    }
    return out;
  }

  /**
   * Settings that work against each other on one route, as {@code istioctl analyze} warns: a fault
   * with retries (the injected failures are retried, so the fault is not what clients see), and a
   * per-try timeout at or beyond the route's timeout (no retry can happen in time).
   */
  private static void combinations(HTTPRoute r, String p, Check c) {
    var retries = r.getRetries();
    boolean retrying =
        retries == null || retries.getAttempts() == null || retries.getAttempts() > 0;
    if (r.getFault() != null && retries != null && retrying) {
      c.warn(
          p + ".retries",
          "the route injects faults and retries them: clients see the faults only when every"
              + " attempt fails");
    }
    if (retries != null
        && retrying
        && retries.getPerTryTimeout() != null
        && r.getTimeout() != null
        && valid(retries.getPerTryTimeout())
        && valid(r.getTimeout())) {
      Duration perTry = Durations.parse(retries.getPerTryTimeout());
      Duration timeout = Durations.parse(r.getTimeout());
      if (!timeout.isZero() && perTry.compareTo(timeout) >= 0) {
        c.warn(
            p + ".timeout",
            "timeout "
                + r.getTimeout()
                + " is not longer than retries.perTryTimeout "
                + retries.getPerTryTimeout()
                + ": no retry can happen before the route times out");
      }
    }
  }

  private static boolean valid(String duration) {
    try {
      Durations.parse(duration);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static Map<String, Set<String>> subsetsByHost(Collection<ConfigObject<HasMetadata>> all) {
    Map<String, Set<String>> out = new java.util.HashMap<>();
    for (ConfigObject<HasMetadata> o : all) {
      if (o.key().kind() == ConfigKind.DESTINATION_RULE) {
        var dr = o.as(DestinationRule.class).getSpec();
        if (dr.getHost() == null) {
          continue;
        }
        Set<String> names =
            out.computeIfAbsent(
                MeshSnapshot.resolveHost(dr.getHost(), o.key().namespace()), k -> new HashSet<>());
        dr.getSubsets().forEach(s -> names.add(s.getName()));
      }
    }
    return out;
  }

  private static void destinationRule(DestinationRule dr, Check c) {
    var spec = dr.getSpec();
    if (spec.getHost() == null || spec.getHost().isBlank()) {
      c.error("spec.host", "required");
    }
    Set<String> names = new HashSet<>();
    for (int i = 0; i < spec.getSubsets().size(); i++) {
      var s = spec.getSubsets().get(i);
      if (s.getName() == null || s.getName().isBlank()) {
        c.error("spec.subsets[" + i + "].name", "required");
      } else if (!names.add(s.getName())) {
        c.error("spec.subsets[" + i + "].name", "duplicate subset '" + s.getName() + "'");
      }
      trafficPolicy(c, "spec.subsets[" + i + "].trafficPolicy", s.getTrafficPolicy());
    }
    trafficPolicy(c, "spec.trafficPolicy", spec.getTrafficPolicy());
  }

  private static void trafficPolicy(
      Check c, String p, io.fabric8.istio.api.api.networking.v1alpha3.TrafficPolicy tp) {
    if (tp == null) {
      return;
    }
    if (tp.getConnectionPool() != null) {
      var cp = tp.getConnectionPool();
      if (cp.getTcp() != null) {
        duration(c, p + ".connectionPool.tcp.connectTimeout", cp.getTcp().getConnectTimeout());
        nonNegative(c, p + ".connectionPool.tcp.maxConnections", cp.getTcp().getMaxConnections());
      }
      if (cp.getHttp() != null) {
        duration(c, p + ".connectionPool.http.idleTimeout", cp.getHttp().getIdleTimeout());
        nonNegative(
            c,
            p + ".connectionPool.http.http1MaxPendingRequests",
            cp.getHttp().getHttp1MaxPendingRequests());
        nonNegative(
            c, p + ".connectionPool.http.http2MaxRequests", cp.getHttp().getHttp2MaxRequests());
        nonNegative(
            c,
            p + ".connectionPool.http.maxRequestsPerConnection",
            cp.getHttp().getMaxRequestsPerConnection());
        nonNegative(c, p + ".connectionPool.http.maxRetries", cp.getHttp().getMaxRetries());
      }
    }
    if (tp.getOutlierDetection() != null) {
      var od = tp.getOutlierDetection();
      duration(c, p + ".outlierDetection.interval", od.getInterval());
      duration(c, p + ".outlierDetection.baseEjectionTime", od.getBaseEjectionTime());
      if (od.getMaxEjectionPercent() != null
          && (od.getMaxEjectionPercent() < 0 || od.getMaxEjectionPercent() > 100)) {
        c.error(p + ".outlierDetection.maxEjectionPercent", "must be between 0 and 100");
      }
    }
    tls(c, p + ".tls", tp.getTls());
    for (int i = 0; i < tp.getPortLevelSettings().size(); i++) {
      var pls = tp.getPortLevelSettings().get(i);
      if (pls.getPort() == null || pls.getPort().getNumber() == null) {
        c.error(p + ".portLevelSettings[" + i + "].port.number", "required");
      }
      tls(c, p + ".portLevelSettings[" + i + "].tls", pls.getTls());
    }
  }

  /**
   * Istio's rules for a DestinationRule's TLS: MUTUAL needs the client certificate and its key;
   * ISTIO_MUTUAL and DISABLE take no certificate files. A {@code credentialName} (a Kubernetes
   * secret) is refused: no secret is served to proxies yet, and TLS without its certificates would
   * fail every request.
   */
  private static void tls(
      Check c, String p, io.fabric8.istio.api.api.networking.v1alpha3.ClientTLSSettings tls) {
    if (tls == null || tls.getMode() == null) {
      return;
    }
    boolean files =
        notBlank(tls.getClientCertificate())
            || notBlank(tls.getPrivateKey())
            || notBlank(tls.getCaCertificates());
    switch (tls.getMode()) {
      case MUTUAL, SIMPLE -> {
        if (notBlank(tls.getCredentialName())) {
          c.error(
              p + ".credentialName",
              "secrets are not served to proxies yet: give clientCertificate, privateKey and"
                  + " caCertificates as files");
        } else if (tls.getMode()
            == io.fabric8.istio.api.api.networking.v1alpha3.ClientTLSSettingsTLSmode.MUTUAL) {
          if (!notBlank(tls.getClientCertificate())) {
            c.error(p + ".clientCertificate", "required when mode is MUTUAL");
          }
          if (!notBlank(tls.getPrivateKey())) {
            c.error(p + ".privateKey", "required when mode is MUTUAL");
          }
        }
      }
      default -> {
        if (files || notBlank(tls.getCredentialName())) {
          c.error(
              p,
              "mode "
                  + tls.getMode()
                  + " takes no clientCertificate, privateKey, caCertificates or credentialName");
        }
      }
    }
  }

  private static boolean notBlank(String s) {
    return s != null && !s.isBlank();
  }

  private static void gateway(Gateway g, Check c) {
    var spec = g.getSpec();
    if (spec.getServers().isEmpty()) {
      c.error("spec.servers", "at least one server is required");
    }
    for (int i = 0; i < spec.getServers().size(); i++) {
      var s = spec.getServers().get(i);
      String p = "spec.servers[" + i + "]";
      if (s.getPort() == null || s.getPort().getNumber() == null) {
        c.error(p + ".port.number", "required");
      } else if (s.getPort().getNumber() < 1 || s.getPort().getNumber() > 65535) {
        c.error(p + ".port.number", s.getPort().getNumber() + " is not a port number");
      }
      if (s.getPort() != null
          && (s.getPort().getProtocol() == null || s.getPort().getProtocol().isBlank())) {
        c.error(p + ".port.protocol", "required");
      }
      if (s.getHosts().isEmpty()) {
        c.error(p + ".hosts", "at least one host is required");
      }
    }
  }

  /**
   * A Sidecar's egress scoping: each listener's hosts are {@code namespace/dnsName}, ports are port
   * numbers, at most one listener has no port. What qmesh does not apply (ingress listeners, bind
   * addresses, capture modes, an egress proxy) is a warning.
   */
  private static void sidecar(io.fabric8.istio.api.networking.v1.Sidecar sc, Check c) {
    var spec = sc.getSpec();
    if (spec == null) {
      return;
    }
    int catchAll = 0;
    for (int i = 0; i < spec.getEgress().size(); i++) {
      var l = spec.getEgress().get(i);
      String p = "spec.egress[" + i + "]";
      if (l.getHosts().isEmpty()) {
        c.error(p + ".hosts", "at least one host is required");
      }
      for (int j = 0; j < l.getHosts().size(); j++) {
        String h = l.getHosts().get(j);
        int slash = h.indexOf('/');
        if (slash <= 0 || slash == h.length() - 1 || h.indexOf('/', slash + 1) >= 0) {
          c.error(
              p + ".hosts[" + j + "]",
              "'"
                  + h
                  + "' is not namespace/dnsName (e.g. ./*, istio-system/*, */reviews.default.svc.cluster.local)");
        } else if (h.substring(slash + 1).indexOf('*', 1) >= 0) {
          c.error(
              p + ".hosts[" + j + "]",
              "'" + h + "': a wildcard is only allowed as the dnsName's leftmost label");
        }
      }
      if (l.getPort() == null || l.getPort().getNumber() == null) {
        catchAll++;
      } else if (l.getPort().getNumber() < 1 || l.getPort().getNumber() > 65535) {
        c.error(p + ".port.number", l.getPort().getNumber() + " is not a port number");
      }
      if ((l.getBind() != null && !l.getBind().isEmpty()) || l.getCaptureMode() != null) {
        c.warn(
            p,
            "bind and captureMode are not applied: qmesh's sidecars capture as they are configured");
      }
    }
    if (catchAll > 1) {
      c.error("spec.egress", "at most one egress listener may leave out its port");
    }
    if (!spec.getIngress().isEmpty()) {
      c.warn(
          "spec.ingress",
          "not applied: the sidecar's inbound ports come from its workload's services");
    }
    if (spec.getOutboundTrafficPolicy() != null
        && spec.getOutboundTrafficPolicy().getEgressProxy() != null) {
      c.warn("spec.outboundTrafficPolicy.egressProxy", "not applied");
    }
  }

  private static void serviceEntry(ServiceEntry se, Check c) {
    var spec = se.getSpec();
    if (spec.getHosts().isEmpty()) {
      c.error("spec.hosts", "at least one host is required");
    }
    for (int i = 0; i < spec.getPorts().size(); i++) {
      var port = spec.getPorts().get(i);
      if (port.getNumber() == null || port.getNumber() < 1 || port.getNumber() > 65535) {
        c.error("spec.ports[" + i + "].number", "required, 1 to 65535");
      }
    }
    for (int i = 0; i < spec.getEndpoints().size(); i++) {
      if (spec.getEndpoints().get(i).getAddress() == null
          || spec.getEndpoints().get(i).getAddress().isBlank()) {
        c.error("spec.endpoints[" + i + "].address", "required");
      }
    }
  }

  private static void workloadEntry(WorkloadEntry we, Check c) {
    if (we.getSpec().getAddress() == null || we.getSpec().getAddress().isBlank()) {
      c.error("spec.address", "required");
    }
  }

  private static void service(Service s, Check c) {
    if (s.getSpec() == null || s.getSpec().getPorts().isEmpty()) {
      c.error("spec.ports", "at least one port is required");
      return;
    }
    for (int i = 0; i < s.getSpec().getPorts().size(); i++) {
      Integer port = s.getSpec().getPorts().get(i).getPort();
      if (port == null || port < 1 || port > 65535) {
        c.error("spec.ports[" + i + "].port", "required, 1 to 65535");
      }
    }
  }

  private static void regex(Check c, String field, StringMatch m) {
    StringMatches sm = StringMatches.of(m);
    if (m != null && sm.kind() == StringMatches.Kind.REGEX) {
      try {
        Pattern.compile(sm.value());
      } catch (PatternSyntaxException e) {
        c.error(field + ".regex", "'" + sm.value() + "' does not compile: " + e.getDescription());
      }
    }
  }

  private static void duration(Check c, String field, String text) {
    if (text == null) {
      return;
    }
    try {
      if (Durations.parse(text).isNegative()) {
        c.error(field, "must not be negative");
      }
    } catch (IllegalArgumentException e) {
      c.error(field, e.getMessage());
    }
  }

  private static void percentage(Check c, String field, Percent p) {
    if (p != null && p.getValue() != null && (p.getValue() < 0 || p.getValue() > 100)) {
      c.error(field, "must be between 0 and 100, got " + p.getValue());
    }
  }

  /**
   * Telemetry: providers qmesh has (tracing: {@code zipkin}, {@code opentelemetry} and its aliases;
   * access logs: {@code envoy}), sampling within 0-100, access log filters qmesh translates.
   */
  private static void telemetry(io.fabric8.istio.api.telemetry.v1.Telemetry t, Check c) {
    var spec = t.getSpec();
    Set<String> tracing = io.qmesh.pilot.translate.Observability.TRACING_PROVIDERS;
    Set<String> logging = io.qmesh.pilot.translate.Observability.ACCESS_LOG_PROVIDERS;
    for (int i = 0; i < spec.getTracing().size(); i++) {
      var tr = spec.getTracing().get(i);
      String p = "spec.tracing[" + i + "]";
      providers(c, p, tr.getProviders(), tracing);
      Double pct = tr.getRandomSamplingPercentage();
      if (pct != null && (pct < 0 || pct > 100)) {
        c.error(p + ".randomSamplingPercentage", "must be within 0 and 100, got " + pct);
      }
    }
    for (int i = 0; i < spec.getAccessLogging().size(); i++) {
      var al = spec.getAccessLogging().get(i);
      String p = "spec.accessLogging[" + i + "]";
      providers(c, p, al.getProviders(), logging);
      String expr = al.getFilter() == null ? null : al.getFilter().getExpression();
      if (expr != null && !io.qmesh.pilot.translate.Observability.supportedFilter(expr)) {
        c.error(
            p + ".filter.expression",
            "'"
                + expr
                + "' is not supported: qmesh translates a comparison of response.code with a"
                + " number (such as response.code >= 400)");
      }
    }
    for (int i = 0; i < spec.getMetrics().size(); i++) {
      var m = spec.getMetrics().get(i);
      String p = "spec.metrics[" + i + "]";
      for (int j = 0; j < m.getProviders().size(); j++) {
        String name = m.getProviders().get(j).getName();
        if (!io.qmesh.pilot.translate.Observability.METRICS_PROVIDER.equals(name)) {
          c.warn(
              p + ".providers[" + j + "].name",
              "'" + name + "' is not applied: qmesh's proxies report to prometheus only");
        }
      }
      for (int j = 0; j < m.getOverrides().size(); j++) {
        var o = m.getOverrides().get(j);
        String q = p + ".overrides[" + j + "]";
        if (o.getMatch() != null
            && o.getMatch().getMetricMatch()
                instanceof io.fabric8.istio.api.api.telemetry.v1alpha1.MetricSelectorCustomMetric) {
          c.warn(q + ".match.customMetric", "is not applied: qmesh reports no custom metric");
        }
        if (!o.getTagOverrides().isEmpty()) {
          c.warn(
              q + ".tagOverrides",
              "are not applied: proxies report Istio's standard labels as they are (only"
                  + " 'disabled' is)");
        }
      }
    }
  }

  private static void providers(
      Check c,
      String path,
      List<io.fabric8.istio.api.api.telemetry.v1alpha1.ProviderRef> refs,
      Set<String> known) {
    for (int j = 0; j < refs.size(); j++) {
      String name = refs.get(j).getName();
      if (name == null || !known.contains(name)) {
        c.error(
            path + ".providers[" + j + "].name",
            "unknown provider '" + name + "'; known: " + new java.util.TreeSet<>(known));
      }
    }
  }

  private static void nonNegative(Check c, String field, Number n) {
    if (n != null && n.longValue() < 0) {
      c.error(field, "must not be negative, got " + n);
    }
  }

  /** Collects the findings of one object. */
  private record Check(String object, List<Finding> out) {
    void error(String field, String message) {
      out.add(new Finding(Severity.ERROR, object, field, message));
    }

    void warn(String field, String message) {
      out.add(new Finding(Severity.WARNING, object, field, message));
    }
  }
}
