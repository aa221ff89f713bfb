package io.qmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code qmesh delete -f FILE} or {@code qmesh delete KIND NAME}, as kubectl delete. */
@Command(
    name = "delete",
    description = "Delete the objects files name (-f), or one object by kind and name.")
final class DeleteCommand extends MeshCommand {

  @Option(
      names = {"-f", "--filename"},
      description = "FILE, DIR or - (repeatable).")
  List<String> files;

  @Option(
      names = {"-n", "--namespace"},
      description = "Namespace (default: default).")
  String namespace;

  @Parameters(arity = "0..2", description = "KIND NAME")
  List<String> kindAndName;

  @Override
  public Integer call() {
    PilotClient pilot = PilotClient.local();
    if (files != null && !files.isEmpty()) {
      return Manifests.send(
          pilot,
          "/apis/delete" + (namespace == null ? "" : "?namespace=" + PilotClient.enc(namespace)),
          Manifests.read(files, System.in),
          out(),
          err());
    }
    if (kindAndName == null || kindAndName.size() != 2) {
      throw new Failure("delete needs -f FILE, or a KIND and a NAME");
    }
    String ns = namespace == null ? "default" : namespace;
    PilotClient.Answer a =
        pilot.delete(
            "/apis/config/"
                + PilotClient.enc(kindAndName.get(0))
                + "/"
                + PilotClient.enc(ns)
                + "/"
                + PilotClient.enc(kindAndName.get(1)));
    if (!a.ok()) {
      throw new Failure(PilotClient.errors(a));
    }
    for (JsonNode r : a.body().path("results")) {
      String result = r.path("result").asText();
      if (result.equals("unchanged")) {
        throw new Failure(
            r.path("kind").asText() + " " + ns + "/" + kindAndName.get(1) + " not found");
      }
      out()
          .println(
              Manifests.resource(r.path("kind").asText(), r.path("group").asText())
                  + "/"
                  + r.path("name").asText()
                  + " "
                  + result);
    }
    return 0;
  }
}
