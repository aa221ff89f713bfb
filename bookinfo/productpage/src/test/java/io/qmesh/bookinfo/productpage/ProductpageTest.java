package io.qmesh.bookinfo.productpage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

import io.qmesh.bookinfo.common.Fake;
import io.qmesh.bookinfo.common.FakeUpstream;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
@WithTestResource(FakeBookinfoResource.class)
class ProductpageTest {

  @Fake FakeUpstream details;
  @Fake FakeUpstream reviews;
  @Fake FakeUpstream ratings;

  @BeforeEach
  void healthyUpstreams() {
    details.reset();
    reviews.reset();
    ratings.reset();
    details.respond("/details", 200, Json.DETAILS);
    reviews.respond("/reviews", 200, Json.reviews("reviews-v2-7f6d8", "black"));
    ratings.respond("/ratings", 200, Json.RATINGS);
  }

  private static String page() {
    return given().get("/productpage").then().statusCode(200).extract().asString();
  }

  private static int count(String text, String needle) {
    Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(text);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }

  @Test
  void pageShowsTheBookItsDetailsAndBlackStarsFromV2() {
    String html = page();
    assertThat(html)
        .contains("<title>Simple Bookstore App</title>")
        .contains("The Comedy of Errors")
        .contains("<dt>Type:</dt><dd>paperback</dd>")
        .contains("<dt>Pages:</dt><dd>200</dd>")
        .contains("<dt>ISBN-13:</dt><dd>123-1234567890</dd>")
        .contains("An extremely entertaining play by Shakespeare.")
        .contains("Reviews served by:</dt><u>reviews-v2-7f6d8</u>")
        .contains("<font color=\"black\">")
        .doesNotContain("<font color=\"red\">");
    assertThat(count(html, "glyphicon glyphicon-star\"")).isEqualTo(9);
    assertThat(count(html, "glyphicon glyphicon-star-empty\"")).isEqualTo(1);
  }

  @Test
  void v3ShowsRedStars() {
    reviews.respond("/reviews", 200, Json.reviews("reviews-v3-abc", "red"));
    String html = page();
    assertThat(html)
        .contains("Reviews served by:</dt><u>reviews-v3-abc</u>")
        .contains("<font color=\"red\">");
    assertThat(count(html, "glyphicon glyphicon-star\"")).isEqualTo(9);
  }

  @Test
  void v1ShowsNoStars() {
    reviews.respond("/reviews", 200, Json.reviews("reviews-v1-xyz", null));
    String html = page();
    assertThat(html)
        .contains("Reviews served by:</dt><u>reviews-v1-xyz</u>")
        .doesNotContain("glyphicon");
  }

  @Test
  void ratingsUnavailableMessageFromReviewsIsShown() {
    reviews.respond("/reviews", 200, Json.REVIEWS_RATINGS_UNAVAILABLE);
    assertThat(page())
        .contains("Ratings service is currently unavailable")
        .doesNotContain("glyphicon");
  }

  @Test
  void detailsFailureShowsIstiosMessage() {
    details.respond("/details", 503, "no healthy upstream");
    assertThat(page())
        .contains("Error fetching product details!")
        .contains("Sorry, product details are currently unavailable for this book.")
        .contains("Reviews served by:");
  }

  @Test
  void reviewsFailureIsRetriedOnceThenShowsIstiosMessage() {
    reviews.respond("/reviews", 500, "fault filter abort");
    assertThat(page())
        .contains("Error fetching product reviews!")
        .contains("Sorry, product reviews are currently unavailable for this book.")
        .contains("<dt>Type:</dt><dd>paperback</dd>");
    assertThat(reviews.requests()).hasSize(2);
  }

  @Test
  void reviewsSlowerThanThreeSecondsTimeOutTwice() {
    // Istio's fault-injection walkthrough: a 7 s delay behind reviews makes productpage give up
    // after two 3 s attempts and show the reviews error.
    reviews.respond(
        "/reviews", 200, Json.reviews("reviews-v2-x", "black"), Duration.ofMillis(3500));
    assertThat(page()).contains("Sorry, product reviews are currently unavailable for this book.");
    assertThat(reviews.requests()).hasSize(2);
  }

  @Test
  void loginSetsEndUserOnOutgoingCallsAndLogoutClearsIt() {
    String session =
        given()
            .redirects()
            .follow(false)
            .formParam("username", "jason")
            .formParam("passwd", "whatever")
            .header("referer", "http://127.0.0.1:9080/productpage")
            .post("/login")
            .then()
            .statusCode(302)
            .header("location", endsWith("/productpage"))
            .extract()
            .cookie("session");
    assertThat(session).isNotBlank();

    String html =
        given().cookie("session", session).get("/productpage").then().extract().asString();
    assertThat(html).contains("<span class=\"user\">jason</span>").contains("sign out");
    assertThat(reviews.requests().get(0).headers()).containsEntry("end-user", "jason");
    assertThat(details.requests().get(0).headers()).containsEntry("end-user", "jason");

    given()
        .redirects()
        .follow(false)
        .cookie("session", session)
        .get("/logout")
        .then()
        .statusCode(302)
        .header("set-cookie", containsString("session=;"))
        .header("set-cookie", containsString("Max-Age=0"));
  }

  @Test
  void endUserCannotBeForgedByHeaderOrCookie() {
    given()
        .header("end-user", "jason")
        .cookie("session", "amFzb24.forged-signature")
        .get("/productpage")
        .then()
        .statusCode(200)
        .body(not(containsString("<span class=\"user\">")));
    assertThat(reviews.requests().get(0).headers()).doesNotContainKey("end-user");
  }

  @Test
  void loginRedirectNeverLeavesTheSite() {
    given()
        .redirects()
        .follow(false)
        .formParam("username", "jason")
        .header("referer", "https://evil.example/phish")
        .post("/login")
        .then()
        .statusCode(302)
        .header("location", endsWith("/phish"))
        .header("location", not(containsString("evil")));
  }

  @Test
  void tracingHeadersAreForwardedToDetailsAndReviews() {
    given()
        .header("x-request-id", "r-42")
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .header("x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124")
        .header("x-b3-spanid", "a2fb4a1d1a96d312")
        .header("x-b3-sampled", "1")
        .header("b3", "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1")
        .header("user-agent", "curl/8.0")
        .get("/productpage")
        .then()
        .statusCode(200);
    for (FakeUpstream upstream : new FakeUpstream[] {details, reviews}) {
      assertThat(upstream.requests().get(0).headers())
          .containsEntry("x-request-id", "r-42")
          .containsEntry("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
          .containsEntry("x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124")
          .containsEntry("x-b3-spanid", "a2fb4a1d1a96d312")
          .containsEntry("x-b3-sampled", "1")
          .containsEntry("b3", "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1")
          .containsEntry("user-agent", "curl/8.0");
    }
  }

  @Test
  void jsonApi() {
    given()
        .get("/api/v1/products")
        .then()
        .statusCode(200)
        .body("[0].id", equalTo(0))
        .body("[0].title", equalTo("The Comedy of Errors"));
    given()
        .get("/api/v1/products/0")
        .then()
        .statusCode(200)
        .body("publisher", equalTo("PublisherA"));
    given()
        .get("/api/v1/products/0/reviews")
        .then()
        .statusCode(200)
        .body("podname", equalTo("reviews-v2-7f6d8"));
    given()
        .get("/api/v1/products/0/ratings")
        .then()
        .statusCode(200)
        .body("ratings.Reviewer1", equalTo(5));
    assertThat(ratings.requests()).extracting(r -> r.uri().getPath()).containsExactly("/ratings/0");
  }

  @Test
  void jsonApiPassesUpstreamFailureStatusWithIstiosMessage() {
    ratings.respond("/ratings", 503, "");
    given()
        .get("/api/v1/products/0/ratings")
        .then()
        .statusCode(503)
        .body("error", equalTo("Sorry, product ratings are currently unavailable for this book."));
  }

  @Test
  void indexHealthAndStatic() {
    given().get("/").then().statusCode(200).body(containsString("/productpage?u=normal"));
    given().get("/health").then().statusCode(200).body(equalTo("Product page is healthy"));
    given()
        .get("/static/css/bookinfo.css")
        .then()
        .statusCode(200)
        .contentType(containsString("text/css"));
  }
}
