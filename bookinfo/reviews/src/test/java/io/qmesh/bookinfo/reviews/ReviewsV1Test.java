package io.qmesh.bookinfo.reviews;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.not;

import io.qmesh.bookinfo.common.Fake;
import io.qmesh.bookinfo.common.FakeUpstream;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

@QuarkusTest
@WithTestResource(
    value = FakeRatingsResource.class,
    initArgs = @ResourceArg(name = "version", value = "v1"))
class ReviewsV1Test {

  @Fake FakeUpstream ratings;

  @Test
  void v1HasTwoReviewsWithoutRatingsAndNeverCallsRatings() {
    given()
        .get("/reviews/0")
        .then()
        .statusCode(200)
        .contentType("application/json")
        .body("id", equalTo("0"))
        .body("podname", equalTo("reviews-v1-test"))
        .body("clustername", equalTo("null"))
        .body("reviews.reviewer", contains("Reviewer1", "Reviewer2"))
        .body(
            "reviews[0].text",
            equalTo(
                "An extremely entertaining play by Shakespeare. The slapstick humour is"
                    + " refreshing!"))
        .body("reviews", everyItem(not(hasKey("rating"))));
    assertThat(ratings.requests()).isEmpty();
  }

  @Test
  void nonNumericIdIsABadRequest() {
    given().get("/reviews/x").then().statusCode(400);
  }

  @Test
  void health() {
    given().get("/health").then().statusCode(200).body("status", equalTo("Reviews is healthy"));
  }
}
