package io.qmesh.bookinfo.ratings;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

@QuarkusTest
class RatingsResourceTest {

  @Test
  void defaultRatings() {
    given()
        .get("/ratings/0")
        .then()
        .statusCode(200)
        .contentType("application/json")
        .body("id", equalTo(0))
        .body("ratings.Reviewer1", equalTo(5))
        .body("ratings.Reviewer2", equalTo(4));
  }

  @Test
  void postedRatingsReplaceTheDefaultsForThatBook() {
    given()
        .contentType("application/json")
        .body("{\"Reviewer1\":2,\"Reviewer2\":3}")
        .post("/ratings/42")
        .then()
        .statusCode(200)
        .body("ratings.Reviewer1", equalTo(2));
    given().get("/ratings/42").then().body("ratings.Reviewer2", equalTo(3));
    given().get("/ratings/1").then().body("ratings.Reviewer2", equalTo(4));
  }

  @Test
  void nonNumericIdIsABadRequest() {
    given()
        .get("/ratings/x")
        .then()
        .statusCode(400)
        .body("error", equalTo("please provide numeric product ID"));
  }

  @Test
  void health() {
    given().get("/health").then().statusCode(200).body("status", equalTo("Ratings is healthy"));
  }
}
