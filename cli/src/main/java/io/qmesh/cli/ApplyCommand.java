package io.qmesh.cli;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qmesh apply -f}: creates or updates config through pilot, as kubectl apply does. */
@Command(
    name = "apply",
    description =
        "Apply Istio (and Service/Namespace) YAML or JSON from files, directories or - (stdin);"
            + " each file is all or nothing.")
final class ApplyCommand extends MeshCommand {

  @Option(
      names = {"-f", "--filename"},
      required = true,
      description = "FILE, DIR or - (repeatable).")
  List<String> files;

  @Option(
      names = {"-n", "--namespace"},
      description = "Namespace for objects that name none (default: default).")
  String namespace;

  @Override
  public Integer call() {
    return Manifests.send(
        PilotClient.local(),
        "/apis/config" + (namespace == null ? "" : "?namespace=" + PilotClient.enc(namespace)),
        Manifests.read(files, System.in),
        out(),
        err());
  }
}
