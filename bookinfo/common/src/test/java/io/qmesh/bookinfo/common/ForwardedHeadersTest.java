package io.qmesh.bookinfo.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ForwardedHeadersTest {

  @Test
  void selectsOnlyPropagatedHeadersInOrder() {
    Map<String, String> incoming =
        Map.of(
            "b3", "1-2-1",
            "x-request-id", "r1",
            "cookie", "session=x",
            "accept", "text/html",
            "end-user", "jason");
    assertThat(ForwardedHeaders.select(incoming::get))
        .containsExactly(
            Map.entry("x-request-id", "r1"),
            Map.entry("b3", "1-2-1"),
            Map.entry("end-user", "jason"));
  }
}
