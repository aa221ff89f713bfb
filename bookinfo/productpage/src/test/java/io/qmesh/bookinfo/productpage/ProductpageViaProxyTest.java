package io.qmesh.bookinfo.productpage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmesh.bookinfo.common.Fake;
import io.qmesh.bookinfo.common.FakeUpstream;
import io.qmesh.bookinfo.common.RecordingProxy;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import org.junit.jupiter.api.Test;

/** With http.proxyHost set, productpage reaches details and reviews by name through the proxy. */
@QuarkusTest
@WithTestResource(
    value = FakeBookinfoResource.class,
    initArgs = @ResourceArg(name = "proxy", value = "true"))
class ProductpageViaProxyTest {

  @Fake FakeUpstream details;
  @Fake FakeUpstream reviews;
  @Fake RecordingProxy proxy;

  @Test
  void upstreamCallsGoThroughTheProxy() {
    details.respond("/details", 200, Json.DETAILS);
    reviews.respond("/reviews", 200, Json.reviews("reviews-v1-p", null));
    String html = given().get("/productpage").then().statusCode(200).extract().asString();
    assertThat(html).contains("<dd>paperback</dd>").contains("<u>reviews-v1-p</u>");
    assertThat(proxy.targets())
        .contains(
            URI.create("http://details:9080/details/0"),
            URI.create("http://reviews:9080/reviews/0"));
  }
}
