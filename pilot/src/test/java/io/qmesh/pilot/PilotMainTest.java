package io.qmesh.pilot;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PilotMainTest {

  private String before;

  @BeforeEach
  void save() {
    before = System.getProperty(PilotMain.MAX_CACHED_BUFFER);
  }

  @AfterEach
  void restore() {
    if (before == null) {
      System.clearProperty(PilotMain.MAX_CACHED_BUFFER);
    } else {
      System.setProperty(PilotMain.MAX_CACHED_BUFFER, before);
    }
  }

  @Test
  void theSendingThreadsCacheBuffersAsLargeAsARouteConfig() {
    System.clearProperty(PilotMain.MAX_CACHED_BUFFER);
    PilotMain.tuneNetty();
    assertThat(System.getProperty(PilotMain.MAX_CACHED_BUFFER)).isEqualTo("1048576");
  }

  @Test
  void aValueOnTheCommandLineStands() {
    System.setProperty(PilotMain.MAX_CACHED_BUFFER, "65536");
    PilotMain.tuneNetty();
    assertThat(System.getProperty(PilotMain.MAX_CACHED_BUFFER)).isEqualTo("65536");
  }
}
