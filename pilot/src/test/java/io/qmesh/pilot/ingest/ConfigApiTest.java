package io.qmesh.pilot.ingest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;

import io.qmesh.pilot.PilotTestResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

/** The local config API on 15014, as {@code qmesh apply/get/delete} use it. */
@QuarkusTest
@WithTestResource(PilotTestResource.class)
class ConfigApiTest {

  private static final String GATEWAY =
      """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: {name: web, namespace: api-test}
      spec:
        selector: {istio: ingressgateway}
        servers:
        - port: {number: 8080, name: http, protocol: HTTP}
          hosts: ["*"]
      """;

  @Test
  void applyGetListDelete() {
    given()
        .body(GATEWAY)
        .post("/apis/config")
        .then()
        .statusCode(200)
        .body("results[0].kind", equalTo("Gateway"))
        .body("results[0].namespace", equalTo("api-test"))
        .body("results[0].result", equalTo("created"))
        .body("warnings", empty());
    given()
        .body(GATEWAY)
        .post("/apis/config")
        .then()
        .statusCode(200)
        .body("results[0].result", equalTo("unchanged"));
    given()
        .get("/apis/config/gateways/api-test/web")
        .then()
        .statusCode(200)
        .body("spec.servers[0].port.number", equalTo(8080))
        .body(
            "metadata.resourceVersion",
            equalTo(
                given()
                    .get("/apis/config/Gateway/api-test/web")
                    .jsonPath()
                    .getString("metadata.resourceVersion")));
    given()
        .queryParam("namespace", "api-test")
        .get("/apis/config/gateway")
        .then()
        .statusCode(200)
        .body("items", hasSize(1));
    given()
        .body(GATEWAY)
        .post("/apis/delete")
        .then()
        .statusCode(200)
        .body("results[0].result", equalTo("deleted"));
    given()
        .get("/apis/config/gateways/api-test/web")
        .then()
        .statusCode(404)
        .body("errors[0]", equalTo("Gateway api-test/web not found"));
  }

  @Test
  void theNamespaceParameterIsTheDefault() {
    String vs =
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [r]\n  http:\n  - route:\n    - destination: {host: r}\n";
    given()
        .queryParam("namespace", "team-a")
        .body(vs)
        .post("/apis/config")
        .then()
        .statusCode(200)
        .body("results[0].namespace", equalTo("team-a"));
    given()
        .delete("/apis/config/virtualservice/team-a/r")
        .then()
        .statusCode(200)
        .body("results[0].result", equalTo("deleted"));
  }

  @Test
  void invalidInputIsRejectedWholeWithEveryError() {
    String twoBad =
        """
        apiVersion: v1
        kind: Service
        metadata: {name: fine, namespace: api-test}
        spec:
          ports: [{port: 80, name: http}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: broken, namespace: api-test}
        spec:
          hosts: [fine]
          http:
          - timeout: forever
            route:
            - destination: {host: fine}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: broken, namespace: api-test}
        spec:
          trafficPolicy: {}
        """;
    given()
        .body(twoBad)
        .post("/apis/config")
        .then()
        .statusCode(400)
        .body(
            "errors",
            contains(
                "VirtualService api-test/broken: spec.http[0].timeout: 'forever' is not a duration (write e.g. 500ms, 2s, 1.5s, 1m)",
                "DestinationRule api-test/broken: spec.host: required"));
    given().get("/apis/config/service/api-test/fine").then().statusCode(404);
  }

  @Test
  void unreadableInputAndUnknownKinds() {
    given()
        .body("kind: [")
        .post("/apis/config")
        .then()
        .statusCode(400)
        .body("errors[0]", containsString("not valid YAML or JSON"));
    given()
        .body("")
        .post("/apis/config")
        .then()
        .statusCode(400)
        .body("errors[0]", equalTo("no objects in the request"));
    given()
        .body("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n")
        .post("/apis/config")
        .then()
        .statusCode(400)
        .body("errors[0]", containsString("document 1: unknown kind Deployment in apps/v1"));
    given()
        .get("/apis/config/frobnicators")
        .then()
        .statusCode(404)
        .body("errors[0]", equalTo("unknown kind 'frobnicators'"));
  }

  @Test
  void warningsAreReportedAndTheApplyGoesThrough() {
    String vs =
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: w, namespace: api-test}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v7}\n";
    given()
        .body(vs)
        .post("/apis/config")
        .then()
        .statusCode(200)
        .body("results[0].result", equalTo("created"))
        .body(
            "warnings",
            hasItem(
                containsString(
                    "subset 'v7' of host reviews.api-test.svc.cluster.local is not defined by any DestinationRule")));
  }

  @Test
  void metricsAreServed() {
    given()
        .get("/metrics")
        .then()
        .statusCode(200)
        .body(containsString("pilot_xds "))
        .body(containsString("pilot_push_time_seconds_count"));
    double before = rejects();
    given().body("kind: [").post("/apis/config").then().statusCode(400);
    org.assertj.core.api.Assertions.assertThat(rejects()).isEqualTo(before + 1);
  }

  private static double rejects() {
    String metrics = given().get("/metrics").asString();
    var m =
        java.util.regex.Pattern.compile("(?m)^pilot_total_config_rejects_total (\\S+)$")
            .matcher(metrics);
    org.assertj.core.api.Assertions.assertThat(m.find())
        .as("pilot_total_config_rejects_total in /metrics")
        .isTrue();
    return Double.parseDouble(m.group(1));
  }
}
