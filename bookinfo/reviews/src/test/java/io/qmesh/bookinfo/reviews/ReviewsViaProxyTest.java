package io.qmesh.bookinfo.reviews;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.qmesh.bookinfo.common.Fake;
import io.qmesh.bookinfo.common.FakeUpstream;
import io.qmesh.bookinfo.common.RecordingProxy;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import org.junit.jupiter.api.Test;

/** With http.proxyHost set, reviews reaches "ratings" by name through the proxy. */
@QuarkusTest
@WithTestResource(
    value = FakeRatingsResource.class,
    initArgs = {
      @ResourceArg(name = "version", value = "v2"),
      @ResourceArg(name = "proxy", value = "true")
    })
class ReviewsViaProxyTest {

  @Fake FakeUpstream ratings;
  @Fake RecordingProxy proxy;

  @Test
  void ratingsCallGoesThroughTheProxy() {
    ratings.respond("/ratings", 200, "{\"ratings\":{\"Reviewer1\":5,\"Reviewer2\":4}}");
    given().get("/reviews/0").then().statusCode(200).body("reviews[0].rating.stars", equalTo(5));
    assertThat(proxy.targets()).contains(URI.create("http://ratings:9080/ratings/0"));
  }
}
