package io.qmesh.pilot;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Gives each test class's pilot its own empty state directory and quick timings. */
public class PilotTestResource implements QuarkusTestResourceLifecycleManager {

  @Override
  public Map<String, String> start() {
    try {
      Path dir = Files.createTempDirectory("pilot-test-");
      return Map.of(
          "qmesh.pilot.state-dir", dir.toString(),
          "qmesh.pilot.debounce", "50ms",
          "qmesh.pilot.registration-grace", "300ms",
          "qmesh.pilot.xds-host", "127.0.0.1");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void stop() {}
}
