package io.qmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** apply, delete and get against a pilot API over a real socket. */
class ConfigCommandsTest {

  private static final String VS =
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\n";

  @TempDir Path dir;

  @Test
  void applyPrintsEachObjectsOutcomeAndWarningsAsKubectlDoes() throws Exception {
    Path file = Files.writeString(dir.resolve("vs.yaml"), VS);
    try (FakePilot pilot =
        new FakePilot(
            r ->
                new FakePilot.Answer(
                    200,
                    "{\"results\":[{\"kind\":\"VirtualService\",\"group\":\"networking.istio.io\","
                        + "\"namespace\":\"default\",\"name\":\"reviews\",\"result\":\"created\"},"
                        + "{\"kind\":\"Service\",\"group\":\"\",\"namespace\":\"default\","
                        + "\"name\":\"reviews\",\"result\":\"unchanged\"}],"
                        + "\"warnings\":[\"VirtualService default/reviews: subset v9 is not defined\"]}"))) {
      Cli.Run run = Cli.run(dir, dir.resolve(".qmesh"), "apply", "-f", file.toString());

      assertThat(run.code()).isZero();
      assertThat(run.out())
          .isEqualTo(
              "virtualservice.networking.istio.io/reviews created\nservice/reviews unchanged\n");
      assertThat(run.err())
          .contains("Warning: VirtualService default/reviews: subset v9 is not defined");
      assertThat(pilot.requests).containsExactly("POST /apis/config " + VS);
    }
  }

  @Test
  void analyzePrintsPilotsFindingsOrSaysThereAreNone() throws Exception {
    try (FakePilot pilot =
        new FakePilot(
            r ->
                new FakePilot.Answer(
                    200,
                    "[{\"level\":\"Warning\",\"object\":\"DestinationRule default/reviews\","
                        + "\"field\":\"spec.subsets[2]\",\"message\":\"subset 'v3' of"
                        + " reviews.default.svc.cluster.local selects no workload\"}]"))) {
      Cli.Run run = Cli.run(dir, dir.resolve(".qmesh"), "analyze");

      assertThat(run.code()).isZero();
      assertThat(run.out())
          .isEqualTo(
              "Warning (DestinationRule default/reviews) spec.subsets[2]: subset 'v3' of"
                  + " reviews.default.svc.cluster.local selects no workload\n");
      assertThat(pilot.requests).containsExactly("GET /debug/analyze ");
    }
    try (FakePilot pilot = new FakePilot(r -> new FakePilot.Answer(200, "[]"))) {
      assertThat(Cli.run(dir, dir.resolve(".qmesh"), "analyze").out())
          .isEqualTo("No validation issues found when analyzing the mesh.\n");
    }
  }

  @Test
  void aRefusedFileNamesTheFileAndPilotsErrorsAndExitsNonZero() throws Exception {
    Path file = Files.writeString(dir.resolve("bad.yaml"), VS);
    try (FakePilot pilot =
        new FakePilot(
            r ->
                new FakePilot.Answer(
                    400,
                    "{\"errors\":[\"document 1: VirtualService default/reviews:"
                        + " spec.http[0].route[0].weight: must not be negative\"]}"))) {
      Cli.Run run = Cli.run(dir, dir.resolve(".qmesh"), "apply", "-f", file.toString());

      assertThat(run.code()).isEqualTo(1);
      assertThat(run.err())
          .contains("error: " + file + ": refused, nothing in it was applied:")
          .contains(
              "  document 1: VirtualService default/reviews: spec.http[0].route[0].weight:"
                  + " must not be negative");
      assertThat(run.out()).isEmpty();
    }
  }

  @Test
  void aDirectoryIsAppliedFileByFileInNameOrderSkippingOtherFiles() throws Exception {
    Files.writeString(dir.resolve("b.yml"), "kind: B\n");
    Files.writeString(dir.resolve("a.yaml"), "kind: A\n");
    Files.writeString(dir.resolve("c.json"), "{\"kind\":\"C\"}");
    Files.writeString(dir.resolve("README.md"), "not config");
    try (FakePilot pilot =
        new FakePilot(r -> new FakePilot.Answer(200, "{\"results\":[],\"warnings\":[]}"))) {
      Cli.Run run =
          Cli.run(dir, dir.resolve(".qmesh"), "apply", "-n", "bookinfo", "-f", dir.toString());

      assertThat(run.code()).as(run.err()).isZero();
      assertThat(pilot.requests)
          .containsExactly(
              "POST /apis/config?namespace=bookinfo kind: A\n",
              "POST /apis/config?namespace=bookinfo kind: B\n",
              "POST /apis/config?namespace=bookinfo {\"kind\":\"C\"}");
    }
  }

  @Test
  void aMissingFileIsNamed() throws Exception {
    Cli.Run run = Cli.run(dir, dir.resolve(".qmesh"), "apply", "-f", "nope.yaml");
    assertThat(run.code()).isEqualTo(1);
    assertThat(run.err()).contains("error: nope.yaml: no such file or directory");
  }

  @Test
  void deleteByKindAndNameSaysWhenThereIsNothingToDelete() throws Exception {
    try (FakePilot pilot =
        new FakePilot(
            r ->
                new FakePilot.Answer(
                    200,
                    "{\"results\":[{\"kind\":\"DestinationRule\",\"group\":\"networking.istio.io\","
                        + "\"namespace\":\"default\",\"name\":\"reviews\",\"result\":\""
                        + (r.contains("/reviews") ? "deleted" : "unchanged")
                        + "\"}]}"))) {
      Cli.Run ok = Cli.run(dir, dir.resolve(".qmesh"), "delete", "dr", "reviews");
      assertThat(ok.code()).isZero();
      assertThat(ok.out()).isEqualTo("destinationrule.networking.istio.io/reviews deleted\n");
      assertThat(pilot.requests.get(0)).startsWith("DELETE /apis/config/dr/default/reviews");

      Cli.Run none = Cli.run(dir, dir.resolve(".qmesh"), "delete", "dr", "ratings");
      assertThat(none.code()).isEqualTo(1);
      assertThat(none.err()).contains("DestinationRule default/ratings not found");
    }
  }

  @Test
  void getListsAsATableOrPrintsYaml() throws Exception {
    String item =
        "{\"apiVersion\":\"networking.istio.io/v1\",\"kind\":\"VirtualService\","
            + "\"metadata\":{\"name\":\"bookinfo\",\"namespace\":\"default\"},"
            + "\"spec\":{\"hosts\":[\"*\"],\"gateways\":[\"bookinfo-gateway\"]}}";
    try (FakePilot pilot =
        new FakePilot(
            r ->
                r.startsWith("GET /apis/config/vs/default/bookinfo")
                    ? new FakePilot.Answer(200, item)
                    : new FakePilot.Answer(200, "{\"items\":[" + item + "]}"))) {
      Cli.Run list = Cli.run(dir, dir.resolve(".qmesh"), "get", "vs");
      assertThat(list.code()).isZero();
      assertThat(list.out())
          .isEqualTo(
              "NAME       GATEWAYS             HOSTS\nbookinfo   [bookinfo-gateway]   [*]\n");
      assertThat(pilot.requests.get(0)).startsWith("GET /apis/config/vs?namespace=default");

      Cli.Run yaml = Cli.run(dir, dir.resolve(".qmesh"), "get", "vs", "bookinfo", "-o", "yaml");
      assertThat(yaml.out())
          .startsWith("apiVersion: networking.istio.io/v1\nkind: VirtualService\n")
          .contains("  - bookinfo-gateway");
    }
  }

  @Test
  void withoutPilotTheErrorSaysSo() {
    System.setProperty("qmesh.pilot.http", "127.0.0.1:1");
    try {
      Cli.Run run = Cli.run(dir, dir.resolve(".qmesh"), "get", "vs");
      assertThat(run.code()).isEqualTo(1);
      assertThat(run.err()).contains("pilot is not answering at http://127.0.0.1:1");
    } finally {
      System.clearProperty("qmesh.pilot.http");
    }
  }
}
