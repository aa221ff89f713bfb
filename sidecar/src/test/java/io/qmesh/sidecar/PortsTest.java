package io.qmesh.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PortsTest {

  @Test
  void parsesInboundPortsAndLabels() {
    assertThat(Ports.inbound("9080:21080:9081, 9090:21090:9091/tcp, 7070:21070:7071/http"))
        .containsExactly(
            new Ports.Inbound(9080, 21080, 9081, false),
            new Ports.Inbound(9090, 21090, 9091, true),
            new Ports.Inbound(7070, 21070, 7071, false));
    assertThat(Ports.inbound("")).isEmpty();
    assertThat(Ports.labels("app=reviews, version=v1"))
        .isEqualTo(Map.of("app", "reviews", "version", "v1"));
  }

  @Test
  void malformedSettingsNameTheSettingAndPart() {
    assertThatThrownBy(() -> Ports.inbound("9080:21080"))
        .hasMessage(
            "qmesh.sidecar.inbound: '9080:21080' is not targetPort:listenPort:appPort[/tcp]");
    assertThatThrownBy(() -> Ports.inbound("9080:21080:9081/udp"))
        .hasMessage(
            "qmesh.sidecar.inbound: '9080:21080:9081/udp': protocol 'udp' is not tcp or http");
    assertThatThrownBy(() -> Ports.inbound("9080:x:1"))
        .hasMessage("qmesh.sidecar.inbound: 'x' in '9080:x:1' is not a port");
    assertThatThrownBy(() -> Ports.labels("app"))
        .hasMessage("qmesh.sidecar.labels: 'app' is not name=value");
  }
}
