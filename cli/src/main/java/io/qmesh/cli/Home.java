package io.qmesh.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where qmesh is installed (the repository: packaged jars and Bookinfo's YAML) and where it keeps
 * its state ({@code .qmesh/} in the working directory, or {@code QMESH_STATE_DIR}): pilot's config
 * store, the components' logs and the supervisor's record of what runs.
 */
record Home(Path root, Path state) {

  static Home detect() {
    String home = System.getProperty("qmesh.home");
    Path root = home != null && !home.isBlank() ? Path.of(home) : fromJar();
    String st = System.getProperty("qmesh.state", System.getenv("QMESH_STATE_DIR"));
    Path state = st != null && !st.isBlank() ? Path.of(st) : Path.of(".qmesh");
    return new Home(root.toAbsolutePath().normalize(), state.toAbsolutePath().normalize());
  }

  /** The repository holding {@code cli/target/qmesh-cli.jar}, when run from that jar. */
  private static Path fromJar() {
    try {
      Path jar = Path.of(Home.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path root = jar.getParent().getParent().getParent();
      return root == null ? Path.of(".") : root;
    } catch (URISyntaxException | RuntimeException e) {
      return Path.of(".");
    }
  }

  Path logs() {
    return state.resolve("logs");
  }

  Path log(String component) {
    return logs().resolve(component + ".log");
  }

  /** The supervisor's record of the components it started. */
  Path meshFile() {
    return state.resolve("mesh.json");
  }

  /** A module's packaged Quarkus application. */
  Path jar(String module) {
    return root.resolve(module).resolve("target/quarkus-app/quarkus-run.jar");
  }

  /** A module's jar, or a failure naming it and how to build it. */
  Path requireJar(String module) {
    Path jar = jar(module);
    if (!Files.isRegularFile(jar)) {
      throw new Failure(
          "not built: "
              + jar
              + "\n  build it with: (cd "
              + root
              + " && ./mvnw -B package -DskipTests), or run ./qmesh, which builds what is missing");
    }
    return jar;
  }
}
