package io.qmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;

/**
 * {@code qmesh analyze}: what {@code istioctl analyze} would warn about in the running mesh
 * (pilot's {@code /debug/analyze}): subsets that select no workload, routes to undefined subsets,
 * faults with retries, timeouts not longer than the per-try timeout. Exits 0 with warnings, as
 * istioctl.
 */
@Command(
    name = "analyze",
    description = "Warn about configuration that will not do what it says in the running mesh.")
final class AnalyzeCommand extends MeshCommand {

  @Override
  public Integer call() {
    PilotClient.Answer a = PilotClient.local().get("/debug/analyze");
    if (!a.ok()) {
      throw new Failure(PilotClient.errors(a));
    }
    if (a.body().isEmpty()) {
      out().println("No validation issues found when analyzing the mesh.");
    }
    for (JsonNode f : a.body()) {
      String field = f.path("field").asText();
      out()
          .println(
              f.path("level").asText()
                  + " ("
                  + f.path("object").asText()
                  + ") "
                  + (field.isEmpty() ? "" : field + ": ")
                  + f.path("message").asText());
    }
    out().flush();
    return 0;
  }
}
