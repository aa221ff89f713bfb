package io.qmesh.pilot.xds;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qmesh.pilot.PilotTestResource;
import io.qmesh.pilot.translate.Proxies;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Pilot's ADS behaviour with raw xDS clients standing in for proxies. */
@QuarkusTest
@WithTestResource(PilotTestResource.class)
class XdsServingTest {

  @Inject XdsServer xds;

  private static final String SERVICE =
      """
      apiVersion: v1
      kind: Service
      metadata: {name: %s, namespace: %s, annotations: {networking.istio.io/exportTo: "%s"}}
      spec:
        selector: {app: %s}
        ports: [{name: http, port: 9080}]
      """;

  private static void apply(String yaml) {
    given().body(yaml).post("/apis/config").then().statusCode(200);
  }

  private static boolean hasCluster(AdsClient c, String name) {
    var responses = c.responses(AdsClient.CDS);
    if (responses.isEmpty()) {
      return false;
    }
    return responses.get(responses.size() - 1).getResourcesList().stream()
        .anyMatch(
            a -> {
              try {
                return a.unpack(Cluster.class).getName().equals(name);
              } catch (Exception e) {
                return false;
              }
            });
  }

  @Test
  void aNackIsRecordedAndDoesNotStopPushesToOthers() throws Exception {
    try (AdsClient good =
            new AdsClient(
                xds.port(),
                Proxies.node(
                    "sidecar~10.1.0.1~good-1.default~default.svc.cluster.local",
                    Map.of("app", "good"),
                    Map.of()));
        AdsClient bad =
            new AdsClient(
                xds.port(),
                Proxies.node(
                    "sidecar~10.1.0.2~bad-1.default~default.svc.cluster.local",
                    Map.of("app", "bad"),
                    Map.of()))) {
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> !good.acked(AdsClient.CDS).isEmpty() && !bad.acked(AdsClient.CDS).isEmpty());
      String badAcked = bad.acked(AdsClient.CDS);
      bad.reject(AdsClient.CDS);

      apply(SERVICE.formatted("first", "default", "*", "first"));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> hasCluster(good, "outbound|9080||first.default.svc.cluster.local"));
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                JsonPath conn = given().get("/debug/connections").jsonPath();
                assertThat(
                        conn.getString(
                            "find { it.id.startsWith('sidecar~10.1.0.2') }.types.cds.lastNack.error"))
                    .startsWith("test proxy rejects");
                assertThat(
                        conn.getString(
                            "find { it.id.startsWith('sidecar~10.1.0.2') }.types.cds.acked"))
                    .isEqualTo(badAcked);
                assertThat(
                        conn.getBoolean(
                            "find { it.id.startsWith('sidecar~10.1.0.1') }.types.cds.synced"))
                    .isTrue();
              });

      // A rejected version is not sent again (java-control-plane alone would resend it at once,
      // in a loop); the proxy hears from pilot again only when its config changes.
      int afterNack = bad.responses(AdsClient.CDS).size();
      await()
          .during(Duration.ofMillis(700))
          .atMost(Duration.ofSeconds(5))
          .until(() -> bad.responses(AdsClient.CDS).size() == afterNack);

      apply(SERVICE.formatted("second", "default", "*", "second"));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> hasCluster(good, "outbound|9080||second.default.svc.cluster.local"));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> bad.responses(AdsClient.CDS).size() > afterNack);
      given()
          .get("/metrics")
          .then()
          .statusCode(200)
          .body(containsString("pilot_total_xds_rejects_total{type=\"cds\"}"));
    }
  }

  @Test
  void aDeltaProxyIsSentWhatChangedAndItsAnswersAreRecorded() throws Exception {
    apply(SERVICE.formatted("dlt-a", "default", "*", "dlt-a"));
    apply(SERVICE.formatted("dlt-b", "default", "*", "dlt-b"));
    String a = "outbound|9080||dlt-a.default.svc.cluster.local";
    String b = "outbound|9080||dlt-b.default.svc.cluster.local";
    try (DeltaAdsClient proxy =
        new DeltaAdsClient(
            xds.port(),
            Proxies.node(
                "sidecar~10.1.3.1~dlt-1.default~default.svc.cluster.local",
                Map.of("app", "dlt"),
                Map.of()))) {
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> proxy.names(AdsClient.CDS).containsAll(java.util.List.of(a, b)));
      proxy.subscribe(DeltaAdsClient.EDS, java.util.List.of(a, b));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> proxy.names(DeltaAdsClient.EDS).containsAll(java.util.List.of(a, b)));
      int clusterResponses = proxy.responses(AdsClient.CDS).size();
      int endpointResponses = proxy.responses(DeltaAdsClient.EDS).size();

      // An endpoint of dlt-a: one assignment is sent, and no clusters.
      apply(
          """
          apiVersion: networking.istio.io/v1
          kind: WorkloadEntry
          metadata: {name: dlt-a-1, namespace: default}
          spec: {address: 10.1.3.20, labels: {app: dlt-a}}
          """);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> proxy.responses(DeltaAdsClient.EDS).size() > endpointResponses);
      var update = proxy.responses(DeltaAdsClient.EDS).get(endpointResponses);
      assertThat(update.getResourcesList())
          .singleElement()
          .satisfies(r -> assertThat(r.getName()).isEqualTo(a));
      assertThat(update.getResources(0).getResource().toString()).contains("10.1.3.20");
      assertThat(proxy.responses(AdsClient.CDS)).hasSize(clusterResponses);
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(
                          given()
                              .get("/debug/connections")
                              .jsonPath()
                              .getBoolean(
                                  "find { it.id.startsWith('sidecar~10.1.3.1') }.types.eds.synced"))
                      .isTrue());

      // A rejected update is recorded with the version sent, and not sent again.
      proxy.reject(AdsClient.CDS);
      apply(SERVICE.formatted("dlt-c", "default", "*", "dlt-c"));
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                JsonPath conn = given().get("/debug/connections").jsonPath();
                String at = "find { it.id.startsWith('sidecar~10.1.3.1') }.types.cds.";
                assertThat(conn.getString(at + "lastNack.error")).startsWith("test proxy rejects");
                assertThat(conn.getString(at + "lastNack.version"))
                    .isEqualTo(conn.getString(at + "sent"));
              });
      int afterNack = proxy.responses(AdsClient.CDS).size();
      await()
          .during(Duration.ofMillis(700))
          .atMost(Duration.ofSeconds(5))
          .until(() -> proxy.responses(AdsClient.CDS).size() == afterNack);
    }
  }

  @Test
  void aDeltaProxyRejectingItsFirstAssignmentsIsNotSentThemAgainUntilTheyChange() throws Exception {
    apply(SERVICE.formatted("dlt-n", "default", "*", "dlt-n"));
    String n = "outbound|9080||dlt-n.default.svc.cluster.local";
    try (DeltaAdsClient proxy =
        new DeltaAdsClient(
            xds.port(),
            Proxies.node(
                "sidecar~10.1.3.2~dlt-2.default~default.svc.cluster.local",
                Map.of("app", "dlt"),
                Map.of()))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.names(AdsClient.CDS).contains(n));
      proxy.reject(DeltaAdsClient.EDS);
      proxy.subscribe(DeltaAdsClient.EDS, java.util.List.of(n));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> proxy.responses(DeltaAdsClient.EDS).size() == 1);
      // java-control-plane alone answers the NACK with the same names at once, in a loop.
      await()
          .during(Duration.ofMillis(700))
          .atMost(Duration.ofSeconds(5))
          .until(() -> proxy.responses(DeltaAdsClient.EDS).size() == 1);

      apply(
          """
          apiVersion: networking.istio.io/v1
          kind: WorkloadEntry
          metadata: {name: dlt-n-1, namespace: default}
          spec: {address: 10.1.3.21, labels: {app: dlt-n}}
          """);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> proxy.responses(DeltaAdsClient.EDS).size() == 2);
      assertThat(
              proxy.responses(DeltaAdsClient.EDS).get(1).getResources(0).getResource().toString())
          .contains("10.1.3.21");
    }
  }

  @Test
  void onlyProxiesWhoseConfigChangedArePushed() throws Exception {
    try (AdsClient inDefault =
            new AdsClient(
                xds.port(),
                Proxies.node(
                    "sidecar~10.1.1.1~a-1.default~default.svc.cluster.local",
                    Map.of("app", "a"),
                    Map.of()));
        AdsClient inShop =
            new AdsClient(
                xds.port(),
                Proxies.node(
                    "sidecar~10.1.1.2~b-1.shop~shop.svc.cluster.local",
                    Map.of("app", "b"),
                    Map.of("NAMESPACE", "shop")))) {
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  !inDefault.acked(AdsClient.CDS).isEmpty()
                      && !inShop.acked(AdsClient.CDS).isEmpty());
      int defaultResponses = inDefault.responses(AdsClient.CDS).size();
      apply(SERVICE.formatted("cart", "shop", ".", "cart"));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> hasCluster(inShop, "outbound|9080||cart.shop.svc.cluster.local"));
      // The push that reached the shop proxy has been computed for all; the default proxy, which
      // cannot see the shop-only service, was not sent anything.
      assertThat(inDefault.responses(AdsClient.CDS)).hasSize(defaultResponses);
    }
  }

  @Test
  void aMalformedNodeIsRefusedWithAClearStatus() throws Exception {
    try (AdsClient client =
        new AdsClient(xds.port(), Proxies.node("not-a-node-id", Map.of(), Map.of()))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> client.error() != null);
      assertThat(client.error())
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                assertThat(e.getStatus().getDescription()).contains("node id 'not-a-node-id'");
              });
    }
  }

  @Test
  void aProxySendingItsNodeOnlyOnceIsToldWhy() throws Exception {
    try (AdsClient client =
        new AdsClient(
            xds.port(),
            Proxies.node(
                "sidecar~10.1.2.1~once-1.default~default.svc.cluster.local", Map.of(), Map.of()),
            true)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> client.error() != null);
      assertThat(((StatusRuntimeException) client.error()).getStatus().getDescription())
          .contains("every request must carry the node");
    }
  }

  @Test
  void aSidecarRegistersItsWorkloadAndLeavesAfterTheGracePeriod() throws Exception {
    apply(SERVICE.formatted("ratings", "default", "*", "ratings"));
    AdsClient sidecar =
        new AdsClient(
            xds.port(),
            Proxies.node(
                "sidecar~127.0.0.1~ratings-v1-1.default~default.svc.cluster.local",
                Map.of("app", "ratings", "version", "v1"),
                Map.of("QMESH_WORKLOAD_PORTS", "")));
    sidecar.close();
    // QMESH_WORKLOAD_PORTS is a struct; a plain string is ignored, so nothing registered.
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(
                        given()
                            .get("/debug/registry")
                            .jsonPath()
                            .getList(
                                "find { it.hostname == 'ratings.default.svc.cluster.local' }.ports[0].endpoints"))
                    .isNotNull()
                    .isEmpty());

    var md =
        com.google.protobuf.Struct.newBuilder()
            .putFields(
                "NAMESPACE",
                com.google.protobuf.Value.newBuilder().setStringValue("default").build())
            .putFields(
                "LABELS",
                com.google.protobuf.Value.newBuilder()
                    .setStructValue(
                        com.google.protobuf.Struct.newBuilder()
                            .putFields(
                                "app",
                                com.google.protobuf.Value.newBuilder()
                                    .setStringValue("ratings")
                                    .build()))
                    .build())
            .putFields(
                "QMESH_WORKLOAD_PORTS",
                com.google.protobuf.Value.newBuilder()
                    .setStructValue(
                        com.google.protobuf.Struct.newBuilder()
                            .putFields(
                                "http",
                                com.google.protobuf.Value.newBuilder()
                                    .setStringValue("21080")
                                    .build()))
                    .build())
            .build();
    var node =
        io.envoyproxy.envoy.config.core.v3.Node.newBuilder()
            .setId("sidecar~127.0.0.1~ratings-v1-2.default~default.svc.cluster.local")
            .setMetadata(md)
            .build();
    try (AdsClient registered = new AdsClient(xds.port(), node)) {
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(
                          given()
                              .get("/debug/registry")
                              .jsonPath()
                              .getList(
                                  "find { it.hostname == 'ratings.default.svc.cluster.local' }.ports[0].endpoints.port"))
                      .containsExactly(21080));
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(
                        given()
                            .get("/debug/registry")
                            .jsonPath()
                            .getList(
                                "find { it.hostname == 'ratings.default.svc.cluster.local' }.ports[0].endpoints"))
                    .isEmpty());
  }
}
