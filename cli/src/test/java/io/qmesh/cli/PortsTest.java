package io.qmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import org.junit.jupiter.api.Test;

class PortsTest {

  @Test
  void aTakenPortIsNamedWithTheProcessHoldingIt() throws Exception {
    try (ServerSocket held = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      int port = held.getLocalPort();
      assertThat(Ports.inUse(port))
          .hasValueSatisfying(
              who -> assertThat(who).startsWith("pid " + ProcessHandle.current().pid() + ": "));
      assertThatThrownBy(() -> Ports.requireFree(List.of(port), "details-v1-sidecar"))
          .isInstanceOf(Failure.class)
          .hasMessageStartingWith("details-v1-sidecar needs port " + port + " (pid ")
          .hasMessageEndingWith("already in use on 127.0.0.1");
    }
  }

  @Test
  void aFreePortIsFree() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    assertThat(Ports.inUse(port)).isEmpty();
  }

  @Test
  void eachWorkloadHasItsOwnBlock() {
    assertThat(Ports.block(0)).isEqualTo(20000);
    assertThat(Ports.block(7) + Ports.INBOUND).isEqualTo(20076);
    assertThat(Ports.blockOf(20076)).isEqualTo(7);
    assertThat(Ports.blockOf(Ports.block(12) + Ports.ADMIN)).isEqualTo(12);
  }
}
