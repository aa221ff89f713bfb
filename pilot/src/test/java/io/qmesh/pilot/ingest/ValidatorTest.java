package io.qmesh.pilot.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmesh.api.config.ConfigParser;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each validation, with the exact message a user sees. */
class ValidatorTest {

  static Stream<Arguments> cases() {
    String vs =
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n";
    String dr =
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n";
    String tel = "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t}\nspec:\n";
    String route = "  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n";
    return Stream.of(
        Arguments.of(
            vs + "  http:\n  - route:\n    - destination: {host: reviews}\n",
            "ERROR VirtualService default/r: spec.hosts: at least one host is required"),
        Arguments.of(
            vs + "  hosts: [reviews]\n  htpp: []\n",
            "ERROR VirtualService default/r: spec.htpp: unknown field"),
        Arguments.of(
            vs
                + "  hosts: [reviews]\n  http:\n  - match:\n    - uri: {regex: '/(unclosed'}\n    route:\n    - destination: {host: reviews}\n",
            "ERROR VirtualService default/r: spec.http[0].match[0].uri.regex: '/(unclosed' does not compile: Unclosed group"),
        Arguments.of(
            vs
                + "  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n      weight: -5\n",
            "ERROR VirtualService default/r: spec.http[0].route[0].weight: must not be negative, got -5"),
        Arguments.of(
            vs + route + "    timeout: 5 seconds\n",
            "ERROR VirtualService default/r: spec.http[0].timeout: '5 seconds' is not a duration (write e.g. 500ms, 2s, 1.5s, 1m)"),
        Arguments.of(
            vs + route + "    retries: {attempts: 3, perTryTimeout: 2x}\n",
            "ERROR VirtualService default/r: spec.http[0].retries.perTryTimeout: '2x' is not a duration (write e.g. 500ms, 2s, 1.5s, 1m)"),
        Arguments.of(
            vs + route + "    fault: {abort: {httpStatus: 700, percentage: {value: 50}}}\n",
            "ERROR VirtualService default/r: spec.http[0].fault.abort.httpStatus: 700 is not an HTTP status between 200 and 599"),
        Arguments.of(
            vs + route + "    fault: {delay: {fixedDelay: 1s, percentage: {value: 150}}}\n",
            "ERROR VirtualService default/r: spec.http[0].fault.delay.percentage: must be between 0 and 100, got 150.0"),
        Arguments.of(
            vs + "  hosts: [reviews]\n  http:\n  - match:\n    - uri: {prefix: /}\n",
            "ERROR VirtualService default/r: spec.http[0]: needs a route, redirect or directResponse"),
        Arguments.of(
            vs
                + "  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v9}\n",
            "WARNING VirtualService default/r: spec.http[0].route[0].destination.subset: subset 'v9' of host reviews.default.svc.cluster.local is not defined by any DestinationRule"),
        Arguments.of(
            vs + route + "    fault: {abort: {httpStatus: 503}}\n    retries: {attempts: 2}\n",
            "WARNING VirtualService default/r: spec.http[0].retries: the route injects faults and retries them: clients see the faults only when every attempt fails"),
        Arguments.of(
            vs + route + "    timeout: 1s\n    retries: {attempts: 2, perTryTimeout: 2s}\n",
            "WARNING VirtualService default/r: spec.http[0].timeout: timeout 1s is not longer than retries.perTryTimeout 2s: no retry can happen before the route times out"),
        Arguments.of(
            vs + route + "    corsPolicy: {maxAge: 1 day}\n",
            "ERROR VirtualService default/r: spec.http[0].corsPolicy.maxAge: '1 day' is not a duration (write e.g. 500ms, 2s, 1.5s, 1m)"),
        Arguments.of(
            tel + "  tracing:\n  - providers: [{name: skywalking}]\n",
            "ERROR Telemetry default/t: spec.tracing[0].providers[0].name: unknown provider 'skywalking'; known: [jaeger, none, opentelemetry, otel, otel-tracing, zipkin]"),
        Arguments.of(
            tel + "  tracing:\n  - randomSamplingPercentage: 101\n",
            "ERROR Telemetry default/t: spec.tracing[0].randomSamplingPercentage: must be within 0 and 100, got 101.0"),
        Arguments.of(
            tel + "  accessLogging:\n  - filter: {expression: 'request.headers[\"x\"] == \"y\"'}\n",
            "ERROR Telemetry default/t: spec.accessLogging[0].filter.expression: 'request.headers[\"x\"] == \"y\"' is not supported: qmesh translates a comparison of response.code with a number (such as response.code >= 400)"),
        Arguments.of(
            tel + "  accessLogging:\n  - providers: [{name: otel}]\n",
            "ERROR Telemetry default/t: spec.accessLogging[0].providers[0].name: unknown provider 'otel'; known: [envoy]"),
        Arguments.of(
            tel + "  metrics:\n  - providers: [{name: stackdriver}]\n",
            "WARNING Telemetry default/t: spec.metrics[0].providers[0].name: 'stackdriver' is not applied: qmesh's proxies report to prometheus only"),
        Arguments.of(
            tel
                + "  metrics:\n  - overrides:\n    - match: {metric: REQUEST_COUNT}\n      tagOverrides: {request_protocol: {operation: REMOVE}}\n",
            "WARNING Telemetry default/t: spec.metrics[0].overrides[0].tagOverrides: are not applied: proxies report Istio's standard labels as they are (only 'disabled' is)"),
        Arguments.of(
            tel
                + "  metrics:\n  - overrides:\n    - match: {customMetric: my_metric}\n      disabled: true\n",
            "WARNING Telemetry default/t: spec.metrics[0].overrides[0].match.customMetric: is not applied: qmesh reports no custom metric"),
        Arguments.of(
            dr + "  subsets:\n  - {name: v1}\n",
            "ERROR DestinationRule default/r: spec.host: required"),
        Arguments.of(
            dr + "  host: db\n  trafficPolicy:\n    tls: {mode: MUTUAL, privateKey: /k.pem}\n",
            "ERROR DestinationRule default/r: spec.trafficPolicy.tls.clientCertificate: required when mode is MUTUAL"),
        Arguments.of(
            dr
                + "  host: db\n  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 443}\n      tls: {mode: SIMPLE, credentialName: db-certs}\n",
            "ERROR DestinationRule default/r: spec.trafficPolicy.portLevelSettings[0].tls.credentialName: secrets are not served to proxies yet: give clientCertificate, privateKey and caCertificates as files"),
        Arguments.of(
            dr
                + "  host: db\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL, privateKey: /k.pem}\n",
            "ERROR DestinationRule default/r: spec.trafficPolicy.tls: mode ISTIO_MUTUAL takes no clientCertificate, privateKey, caCertificates or credentialName"),
        Arguments.of(
            dr + "  host: reviews\n  subsets:\n  - {name: v1}\n  - {name: v1}\n",
            "ERROR DestinationRule default/r: spec.subsets[1].name: duplicate subset 'v1'"),
        Arguments.of(
            dr
                + "  host: reviews\n  trafficPolicy: {outlierDetection: {maxEjectionPercent: 120}}\n",
            "ERROR DestinationRule default/r: spec.trafficPolicy.outlierDetection.maxEjectionPercent: must be between 0 and 100"),
        Arguments.of(
            dr
                + "  host: reviews\n  trafficPolicy: {connectionPool: {http: {http1MaxPendingRequests: -1}}}\n",
            "ERROR DestinationRule default/r: spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests: must not be negative, got -1"),
        Arguments.of(
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  servers:\n  - port: {number: 80, protocol: HTTP}\n",
            "ERROR Gateway default/g: spec.servers[0].hosts: at least one host is required"),
        Arguments.of(
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: s}\nspec:\n  ports: [{number: 80, name: http}]\n",
            "ERROR ServiceEntry default/s: spec.hosts: at least one host is required"),
        // Kinds stored but not enforced yet: said, so that nobody takes a policy for enforced.
        Arguments.of(
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-all}\nspec:\n  action: DENY\n  rules: [{}]\n",
            "WARNING AuthorizationPolicy default/deny-all: stored, but not enforced: qmesh's proxies do not apply authorization policies yet, so the requests it would deny are let through"),
        Arguments.of(
            "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt}\nspec:\n  jwtRules: [{issuer: testing@secure.istio.io}]\n",
            "WARNING RequestAuthentication default/jwt: stored, but not enforced: qmesh's proxies do not validate JWTs yet, so requests with invalid tokens are let through"),
        Arguments.of(
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default}\nspec:\n  egress: [{hosts: [reviews.default.svc.cluster.local]}]\n",
            "ERROR Sidecar default/default: spec.egress[0].hosts[0]: 'reviews.default.svc.cluster.local' is not namespace/dnsName (e.g. ./*, istio-system/*, */reviews.default.svc.cluster.local)"),
        Arguments.of(
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default}\nspec:\n  egress: [{hosts: [./reviews.*]}]\n",
            "ERROR Sidecar default/default: spec.egress[0].hosts[0]: './reviews.*': a wildcard is only allowed as the dnsName's leftmost label"),
        Arguments.of(
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default}\nspec:\n  egress: [{hosts: [./*]}, {hosts: [istio-system/*]}]\n",
            "ERROR Sidecar default/default: spec.egress: at most one egress listener may leave out its port"),
        Arguments.of(
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default}\nspec:\n  egress: [{port: {number: 0}, hosts: [./*]}]\n",
            "ERROR Sidecar default/default: spec.egress[0].port.number: 0 is not a port number"),
        Arguments.of(
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default}\nspec:\n  ingress: [{port: {number: 9080, protocol: HTTP, name: http}, defaultEndpoint: 127.0.0.1:8080}]\n  egress: [{hosts: [./*]}]\n",
            "WARNING Sidecar default/default: spec.ingress: not applied: the sidecar's inbound ports come from its workload's services"),
        Arguments.of(
            "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: f}\nspec:\n  configPatches: []\n",
            "WARNING EnvoyFilter default/f: stored, but not applied: qmesh's proxies are not Envoy and take no EnvoyFilter patches"),
        Arguments.of(
            "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: w}\nspec:\n  labels: {app: a}\n",
            "ERROR WorkloadEntry default/w: spec.address: required"),
        Arguments.of(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: a}\n",
            "ERROR Service default/s: spec.ports: at least one port is required"));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void findsTheProblemAndNamesIt(String yaml, String expected) {
    var objects = ConfigParser.parse(yaml, "default");
    List<String> findings =
        Validator.validate(objects, objects).stream().map(f -> f.severity() + " " + f).toList();
    assertThat(findings).containsExactly(expected);
  }

  @ParameterizedTest
  @MethodSource("io.qmesh.pilot.ingest.ValidatorTest#valid")
  void acceptsValidConfig(String yaml) {
    var objects = ConfigParser.parse(yaml, "default");
    assertThat(Validator.validate(objects, objects)).isEmpty();
  }

  static Stream<String> valid() {
    return Stream.of(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [reviews]\n  http:\n  - match:\n    - headers: {end-user: {exact: jason}}\n      uri: {regex: '/api/.*'}\n    route:\n    - destination: {host: reviews}\n    timeout: 5s\n    retries: {attempts: 3, perTryTimeout: 2s, retryOn: '5xx,503'}\n  - route:\n    - destination: {host: reviews}\n    fault: {delay: {fixedDelay: 7s, percentage: {value: 100}}}\n    retries: {attempts: 0}\n    corsPolicy: {allowOrigins: [{regex: 'https://.*'}], maxAge: 24h}\n",
        "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n  host: reviews\n  trafficPolicy:\n    loadBalancer: {consistentHash: {httpCookie: {name: user, ttl: 0s}}}\n    connectionPool: {tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}}\n    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100}\n",
        // Istio's own examples of Sidecar scoping.
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: istio-system}\nspec:\n  egress: [{hosts: [./*, istio-system/*]}]\n  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n",
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: ratings}\nspec:\n  workloadSelector: {labels: {app: ratings}}\n  egress:\n  - port: {number: 9080, protocol: HTTP, name: http}\n    hosts: [./reviews.default.svc.cluster.local, '*/*.example.com']\n  - hosts: [~/*]\n");
  }
}
