package io.qmesh.bookinfo.reviews;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
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
    initArgs = @ResourceArg(name = "version", value = "v2"))
class ReviewsV2Test {

  @Fake FakeUpstream ratings;

  @BeforeEach
  void reset() {
    ratings.reset();
  }

  @Test
  void v2ShowsBlackStarsFromRatings() {
    ratings.respond("/ratings/0", 200, "{\"id\":0,\"ratings\":{\"Reviewer1\":5,\"Reviewer2\":4}}");
    given()
        .get("/reviews/0")
        .then()
        .statusCode(200)
        .body("podname", equalTo("reviews-v2-test"))
        .body("reviews[0].rating.stars", equalTo(5))
        .body("reviews[0].rating.color", equalTo("black"))
        .body("reviews[1].rating.stars", equalTo(4))
        .body("reviews[1].rating.color", equalTo("black"));
    assertThat(ratings.requests()).extracting(r -> r.uri().getPath()).containsExactly("/ratings/0");
  }

  @Test
  void ratingsDownGivesTheUnavailableMessage() {
    ratings.respond("/ratings", 503, "upstream connect error");
    given()
        .get("/reviews/0")
        .then()
        .statusCode(200)
        .body("reviews[0].rating.error", equalTo("Ratings service is currently unavailable"))
        .body("reviews[1].rating.error", equalTo("Ratings service is currently unavailable"));
  }

  @Test
  void aReviewerMissingFromRatingsGetsTheUnavailableMessage() {
    ratings.respond("/ratings", 200, "{\"id\":0,\"ratings\":{\"Reviewer1\":3}}");
    given()
        .get("/reviews/0")
        .then()
        .body("reviews[0].rating.stars", equalTo(3))
        .body("reviews[1].rating.error", equalTo("Ratings service is currently unavailable"));
  }

  @Test
  void blackStarsWaitLongerThanThreeSecondsForRatings() {
    // v2's ratings timeout is 10 s; v3's 2.5 s call fails on the same delay (ReviewsV3Test).
    ratings.respond(
        "/ratings", 200, "{\"ratings\":{\"Reviewer1\":1,\"Reviewer2\":2}}", Duration.ofSeconds(3));
    given().get("/reviews/0").then().body("reviews[0].rating.stars", equalTo(1));
  }

  @Test
  void tracingAndContextHeadersAreForwarded() {
    ratings.respond("/ratings", 200, "{\"ratings\":{\"Reviewer1\":5,\"Reviewer2\":4}}");
    given()
        .header("x-request-id", "req-1")
        .header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        .header("tracestate", "congo=t61rcWkgMzE")
        .header("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7")
        .header("x-b3-spanid", "e457b5a2e4d86bd1")
        .header("x-b3-parentspanid", "05e3ac9a4f6e3b90")
        .header("x-b3-sampled", "1")
        .header("x-b3-flags", "0")
        .header("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1")
        .header("end-user", "jason")
        .header("user-agent", "bookinfo-test/1.0")
        .header("x-not-propagated", "nope")
        .get("/reviews/0")
        .then()
        .statusCode(200);
    var sent = ratings.requests().get(0).headers();
    assertThat(sent)
        .containsEntry("x-request-id", "req-1")
        .containsEntry("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        .containsEntry("tracestate", "congo=t61rcWkgMzE")
        .containsEntry("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7")
        .containsEntry("x-b3-spanid", "e457b5a2e4d86bd1")
        .containsEntry("x-b3-parentspanid", "05e3ac9a4f6e3b90")
        .containsEntry("x-b3-sampled", "1")
        .containsEntry("x-b3-flags", "0")
        .containsEntry("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1")
        .containsEntry("end-user", "jason")
        .containsEntry("user-agent", "bookinfo-test/1.0")
        .doesNotContainKey("x-not-propagated");
  }
}
