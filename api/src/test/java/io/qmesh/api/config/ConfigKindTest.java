package io.qmesh.api.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ConfigKindTest {

  @Test
  void namesAKindAsKubectlDoes() {
    assertThat(ConfigKind.byName("VirtualService")).contains(ConfigKind.VIRTUAL_SERVICE);
    assertThat(ConfigKind.byName("virtualservices")).contains(ConfigKind.VIRTUAL_SERVICE);
    assertThat(ConfigKind.byName("vs")).contains(ConfigKind.VIRTUAL_SERVICE);
    assertThat(ConfigKind.byName("destinationrules")).contains(ConfigKind.DESTINATION_RULE);
    assertThat(ConfigKind.byName("dr")).contains(ConfigKind.DESTINATION_RULE);
    assertThat(ConfigKind.byName("serviceentries")).contains(ConfigKind.SERVICE_ENTRY);
    assertThat(ConfigKind.byName("svc")).contains(ConfigKind.SERVICE);
    assertThat(ConfigKind.byName("authorizationpolicies"))
        .contains(ConfigKind.AUTHORIZATION_POLICY);
    assertThat(ConfigKind.byName("pods")).isEmpty();
  }
}
