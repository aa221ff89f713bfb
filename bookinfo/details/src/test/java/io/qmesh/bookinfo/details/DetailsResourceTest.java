package io.qmesh.bookinfo.details;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

@QuarkusTest
class DetailsResourceTest {

  @Test
  void detailsOfABook() {
    given()
        .get("/details/0")
        .then()
        .statusCode(200)
        .contentType("application/json")
        .body("id", equalTo(0))
        .body("author", equalTo("William Shakespeare"))
        .body("year", equalTo(1595))
        .body("type", equalTo("paperback"))
        .body("pages", equalTo(200))
        .body("publisher", equalTo("PublisherA"))
        .body("language", equalTo("English"))
        .body("'ISBN-10'", equalTo("1234567890"))
        .body("'ISBN-13'", equalTo("123-1234567890"));
  }

  @Test
  void theIdIsEchoed() {
    given().get("/details/7").then().statusCode(200).body("id", equalTo(7));
  }

  @Test
  void nonNumericIdIsABadRequest() {
    given()
        .get("/details/abc")
        .then()
        .statusCode(400)
        .body("error", equalTo("please provide numeric product id"));
  }

  @Test
  void health() {
    given().get("/health").then().statusCode(200).body("status", equalTo("Details is healthy"));
  }
}
