package io.qmesh.api.config;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds Istio's original sample files in {@code ../shared/istio-samples} beside the repository. */
public final class IstioSamples {
  private IstioSamples() {}

  /** The samples folder; fails under CI when it is missing, skips (visibly) elsewhere. */
  public static Path dir() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path candidate = p.resolveSibling("shared").resolve("istio-samples");
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
    }
    if (System.getenv("CI") != null) {
      assertTrue(false, "../shared/istio-samples must be beside the repository under CI");
    }
    assumeTrue(false, "../shared/istio-samples is not beside this checkout");
    throw new IllegalStateException();
  }
}
