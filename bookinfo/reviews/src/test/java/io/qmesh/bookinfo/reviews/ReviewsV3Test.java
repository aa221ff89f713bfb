package io.qmesh.bookinfo.reviews;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import io.qmesh.bookinfo.common.Fake;
import io.qmesh.bookinfo.common.FakeUpstream;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
@WithTestResource(
    value = FakeRatingsResource.class,
    initArgs = @ResourceArg(name = "version", value = "v3"))
class ReviewsV3Test {

  @Fake FakeUpstream ratings;

  @BeforeEach
  void reset() {
    ratings.reset();
  }

  @Test
  void v3ShowsRedStars() {
    ratings.respond("/ratings", 200, "{\"id\":0,\"ratings\":{\"Reviewer1\":5,\"Reviewer2\":4}}");
    given()
        .get("/reviews/0")
        .then()
        .statusCode(200)
        .body("podname", equalTo("reviews-v3-test"))
        .body("reviews[0].rating.stars", equalTo(5))
        .body("reviews[0].rating.color", equalTo("red"))
        .body("reviews[1].rating.color", equalTo("red"));
  }

  @Test
  void redStarsGiveUpOnRatingsAfterTwoAndAHalfSeconds() {
    ratings.respond(
        "/ratings", 200, "{\"ratings\":{\"Reviewer1\":1,\"Reviewer2\":2}}", Duration.ofSeconds(3));
    given()
        .get("/reviews/0")
        .then()
        .statusCode(200)
        .body("reviews[0].rating.error", equalTo("Ratings service is currently unavailable"));
  }
}
