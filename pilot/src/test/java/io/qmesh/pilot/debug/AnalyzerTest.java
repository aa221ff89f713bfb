package io.qmesh.pilot.debug;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmesh.api.config.ConfigParser;
import io.qmesh.pilot.model.SnapshotBuilder;
import io.qmesh.pilot.model.Workload;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What {@code qmesh analyze} reports on a running mesh: config plus registered workloads. */
class AnalyzerTest {

  private static final String CONFIG =
      """
      apiVersion: v1
      kind: Service
      metadata: {name: reviews}
      spec:
        selector: {app: reviews}
        ports: [{name: http, port: 9080}]
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: reviews}
      spec:
        host: reviews
        subsets:
        - {name: v1, labels: {version: v1}}
        - {name: v3, labels: {version: v3}}
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: reviews}
      spec:
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews, subset: v1}
          - destination: {host: reviews, subset: v2}
          fault: {abort: {httpStatus: 503, percentage: {value: 10}}}
          retries: {attempts: 3, perTryTimeout: 2s}
          timeout: 1s
      """;

  @Test
  void reportsSubsetsWithoutWorkloadsUndefinedSubsetsAndConflictingRouteSettings() {
    Workload v1 =
        new Workload(
            "reviews-v1",
            "default",
            Map.of("app", "reviews", "version", "v1"),
            "127.0.0.1",
            Map.of("http", 20046),
            "bookinfo-reviews",
            Workload.Source.PROXY);

    List<String> findings =
        Analyzer.analyze(
                SnapshotBuilder.build(1, ConfigParser.parse(CONFIG, "default"), List.of(v1)))
            .stream()
            .map(f -> f.severity() + " " + f)
            .toList();

    assertThat(findings)
        .containsExactly(
            "WARNING DestinationRule default/reviews: spec.subsets[1]: subset 'v3' of"
                + " reviews.default.svc.cluster.local selects no workload (labels {version=v3})",
            "WARNING VirtualService default/reviews: spec.http[0].route[1].destination.subset:"
                + " subset 'v2' of host reviews.default.svc.cluster.local is not defined by any"
                + " DestinationRule",
            "WARNING VirtualService default/reviews: spec.http[0].retries: the route injects faults"
                + " and retries them: clients see the faults only when every attempt fails",
            "WARNING VirtualService default/reviews: spec.http[0].timeout: timeout 1s is not longer"
                + " than retries.perTryTimeout 2s: no retry can happen before the route times out");
  }
}
