package io.qmesh.pilot.translate;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmesh.api.config.ConfigParser;
import io.qmesh.pilot.ingest.LocalConfigStore;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.SnapshotBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Golden files: each input (the Bookinfo Services and the workloads in {@code
 * golden/workloads.yaml}, plus one config) applied through the real store, translated for each
 * proxy, and compared with the reviewed JSON in {@code golden/}. Every output must also pass {@link
 * ResourceValidator}. Regenerate with {@code ./mvnw -pl pilot test -Dtest=GoldenTest
 * -Dgolden.update=true} and review the diff.
 */
class GoldenTest {

  private static final boolean UPDATE = Boolean.getBoolean("golden.update");
  private static final Path GOLDEN = Path.of("src/test/resources/golden");
  private static final Path SAMPLES = Path.of("../bookinfo/networking");
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Separates inputs that are applied one after the other, as separate {@code kubectl apply}s. */
  private static final String APPLY_SEPARATOR = "\n# --- next apply ---\n";

  @TempDir Path tmp;

  @TestFactory
  Stream<DynamicTest> istioBookinfoSamples() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    try (Stream<Path> files = Files.list(SAMPLES)) {
      for (Path sample : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        String stem = sample.getFileName().toString().replace(".yaml", "");
        String config = Files.readString(sample);
        if (!stem.startsWith("destination-rule")) {
          // As in Istio's walkthrough, routing samples go on top of destination-rule-all.yaml.
          config =
              Files.readString(SAMPLES.resolve("destination-rule-all.yaml")) + "\n---\n" + config;
        }
        String input = config;
        List<String> proxies =
            config.contains("kind: Gateway")
                ? List.of("productpage", "ingress")
                : List.of("productpage");
        for (String proxy : proxies) {
          tests.add(
              DynamicTest.dynamicTest(
                  stem + " for " + proxy,
                  () ->
                      check(
                          input,
                          proxy,
                          GOLDEN.resolve("samples").resolve(stem).resolve(proxy + ".json"))));
        }
      }
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> edgeCases() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(GOLDEN.resolve("cases"))) {
      for (Path dir : dirs.sorted().toList()) {
        String config = Files.readString(dir.resolve("config.yaml"));
        for (String proxy :
            Files.readAllLines(dir.resolve("proxies")).stream()
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .toList()) {
          tests.add(
              DynamicTest.dynamicTest(
                  dir.getFileName() + " for " + proxy,
                  () -> check(config, proxy, dir.resolve(proxy + ".json"))));
        }
      }
    }
    return tests.stream();
  }

  @Test
  void projectCopiesAreIstiosOriginals() throws IOException {
    Path originals = io.qmesh.api.config.IstioSamples.dir().resolve("bookinfo/networking");
    try (Stream<Path> files = Files.list(originals)) {
      for (Path original : files.sorted().toList()) {
        assertThat(SAMPLES.resolve(original.getFileName()))
            .as("project copy of " + original.getFileName())
            .hasSameTextualContentAs(original);
      }
    }
  }

  private void check(String config, String proxyName, Path expectedFile) throws IOException {
    Path dir = Files.createTempDirectory(tmp, "store");
    LocalConfigStore store = new LocalConfigStore(dir);
    store.apply(
        ConfigParser.parse(
            Files.readString(Path.of("../bookinfo/platform/bookinfo-services.yaml"))
                + "\n---\n"
                + Files.readString(GOLDEN.resolve("workloads.yaml")),
            "default"));
    for (String apply : config.split(java.util.regex.Pattern.quote(APPLY_SEPARATOR))) {
      store.apply(ConfigParser.parse(apply, "default"));
    }
    MeshSnapshot mesh =
        SnapshotBuilder.build(1, store.list(Optional.empty(), Optional.empty()), List.of());
    ProxyResources resources = Translator.translate(Proxies.named(proxyName), mesh);
    assertThat(ResourceValidator.validate(resources)).as("Envoy validity").isEmpty();
    String actual = render(resources);
    if (UPDATE) {
      Files.createDirectories(expectedFile.getParent());
      Files.writeString(expectedFile, actual);
    }
    assertThat(expectedFile).as("golden file (regenerate with -Dgolden.update=true)").exists();
    assertThat(actual).isEqualTo(Files.readString(expectedFile));
  }

  static String render(ProxyResources r) throws IOException {
    return JSON.writerWithDefaultPrettyPrinter()
            .writeValueAsString(io.qmesh.pilot.debug.DebugResource.render(r))
        + "\n";
  }
}
