package io.qmesh.echo;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

@QuarkusTest
@WithTestResource(
    value = EchoPortsResource.class,
    initArgs = @ResourceArg(name = "fail-fraction", value = "0.5"))
class EchoFailFractionTest {

  @Test
  void aConfiguredFractionOfRequestsFails() {
    int failed = 0;
    for (int i = 0; i < 400; i++) {
      int status = given().get("/").statusCode();
      assertThat(status).isIn(200, 503);
      if (status == 503) {
        failed++;
      }
    }
    // Expected 200, standard deviation 10.
    assertThat(failed).isBetween(150, 250);
  }
}
