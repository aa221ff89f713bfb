package io.qmesh.cli;

import io.qmesh.cli.Launches.Workload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code qmesh run}: adds the user's own program to the local mesh as a workload with its own
 * sidecar, creating its Service when asked, as a Deployment with an injected sidecar would on
 * Kubernetes.
 */
@Command(
    name = "run",
    description =
        "Add your program to the mesh as a workload with its own sidecar: it listens on --port and"
            + " reaches other services through its sidecar (HTTP_PROXY).")
final class RunCommand extends MeshCommand {

  @Option(names = "--name", required = true, description = "The workload's name (echo-v1).")
  String name;

  @Option(names = "--app", required = true, description = "Its app label (echo).")
  String app;

  @Option(names = "--version", defaultValue = "v1", description = "Its version label.")
  String version;

  @Option(names = "--port", required = true, description = "The port your program listens on.")
  int port;

  @Option(
      names = "--service",
      description = "Create (or update) this Service selecting app=<app>, on --service-port.")
  String service;

  @Option(
      names = "--service-port",
      description = "The Service's port clients call (default: --port).")
  Integer servicePort;

  @Option(
      names = "--protocol",
      defaultValue = "http",
      description = "http, http2, grpc or tcp: names the Service's port, as Istio reads it.")
  String protocol;

  @Option(names = "--namespace", defaultValue = "default")
  String namespace;

  @Option(names = "--service-account", defaultValue = "default")
  String serviceAccount;

  @Option(
      names = {"-e", "--env"},
      description = "KEY=VALUE for your program (repeatable).")
  List<String> env = new ArrayList<>();

  @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "Your program, after --.")
  List<String> command;

  @Override
  public Integer call() {
    requireRunning();
    if (!List.of("http", "http2", "grpc", "tcp").contains(protocol)) {
      throw new Failure("--protocol: '" + protocol + "' is not one of http, http2, grpc, tcp");
    }
    if (!name.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?")) {
      throw new Failure("--name: '" + name + "' is not a DNS label (lower case, digits, '-')");
    }
    MeshState state = state();
    if (state.components().stream().anyMatch(c -> c.workload().equals(name))) {
      throw new Failure("a workload named '" + name + "' runs already (`qmesh stop " + name + "`)");
    }
    int svcPort = servicePort == null ? port : servicePort;
    int block =
        state.components().stream()
                .filter(c -> c.ports().containsKey("admin"))
                .mapToInt(c -> Ports.blockOf(c.port("admin")))
                .max()
                .orElse(Bookinfo.EGRESS_BLOCK)
            + 1;
    Workload w =
        new Workload(
            name,
            app,
            version,
            namespace,
            serviceAccount,
            block,
            svcPort,
            port,
            protocol.equals("tcp"));
    Map<String, String> appEnv = new LinkedHashMap<>();
    for (String kv : env) {
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw new Failure("--env: '" + kv + "' is not KEY=VALUE");
      }
      appEnv.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    if (service != null) {
      createService(svcPort);
    }
    Launches launches = new Launches(home());
    Launch sidecar = launches.sidecar(w);
    Launch program = launches.app(w, command, appEnv, "tcp://127.0.0.1:" + port);
    Ports.requireFree(List.of(port), name);
    Supervisor supervisor = new Supervisor(home());
    Component sc = supervisor.start(sidecar);
    try {
      supervisor.awaitReady(sc, Duration.ofSeconds(60));
      supervisor.awaitReady(supervisor.start(program), Duration.ofSeconds(120));
    } catch (RuntimeException e) {
      DownCommand.stopInOrder(
          supervisor, state.components().stream().filter(c -> c.workload().equals(name)).toList());
      throw e;
    }
    out()
        .println(
            name
                + " runs in the mesh: app on 127.0.0.1:"
                + port
                + ", mesh address 127.0.0.1:"
                + sidecar.ports().get("inbound")
                + ", outbound proxy 127.0.0.1:"
                + sidecar.ports().get("outbound"));
    if (service != null) {
      out()
          .println(
              "other workloads reach it as http://"
                  + service
                  + (namespace.equals("default") ? "" : "." + namespace)
                  + ":"
                  + svcPort);
    }
    out().println("logs: qmesh logs " + name + "; stop: qmesh stop " + name);
    return 0;
  }

  private void createService(int svcPort) {
    String yaml =
        "apiVersion: v1\n"
            + "kind: Service\n"
            + "metadata:\n"
            + "  name: "
            + service
            + "\n  namespace: "
            + namespace
            + "\n  labels:\n    app: "
            + app
            + "\n    service: "
            + service
            + "\nspec:\n  selector:\n    app: "
            + app
            + "\n  ports:\n  - name: "
            + protocol
            + "\n    port: "
            + svcPort
            + "\n";
    PilotClient.Answer a = PilotClient.local().post("/apis/config", yaml);
    if (!a.ok()) {
      throw new Failure("pilot refused Service " + service + ":\n" + PilotClient.errors(a));
    }
    a.body()
        .path("results")
        .forEach(
            r ->
                out()
                    .println(
                        "service/" + r.path("name").asText() + " " + r.path("result").asText()));
  }
}
