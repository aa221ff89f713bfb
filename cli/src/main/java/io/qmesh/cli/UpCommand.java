package io.qmesh.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code qmesh up}: pilot, the ingress and egress gateways, and Bookinfo's workloads each with its
 * sidecar, started in dependency order and waited for; then {@code bookinfo-gateway.yaml} is
 * applied and the product page answers on 127.0.0.1:8080.
 */
@Command(
    name = "up",
    description =
        "Start the mesh and Bookinfo on 127.0.0.1 and apply bookinfo-gateway.yaml; Ctrl-C stops"
            + " everything (or --detach and `qmesh down`).")
final class UpCommand extends MeshCommand {

  private static final Duration START = Duration.ofSeconds(90);

  @Option(
      names = {"-d", "--detach"},
      description = "Return once everything is ready, leaving the mesh running.")
  boolean detach;

  @Override
  public Integer call() throws Exception {
    long t0 = System.nanoTime();
    MeshState state = state();
    List<Component> running = state.running();
    if (!running.isEmpty()) {
      throw new Failure(
          "qmesh is already running here ("
              + running.size()
              + " components, state in "
              + home().state()
              + "); `qmesh status` shows it, `qmesh down` stops it");
    }
    state.clear();
    Launches launches = new Launches(home());
    Addons addons = new Addons(home());
    Optional<Path> prometheus = addons.prometheus();
    Optional<Path> zipkin = addons.zipkin();
    Launch pilot = launches.pilot(zipkin.isPresent());
    List<Launch> extras = new ArrayList<>();
    if (zipkin.isPresent()) {
      extras.add(addons.zipkinLaunch(zipkin.get()));
    }
    if (prometheus.isPresent()) {
      extras.add(addons.prometheusLaunch(prometheus.get()));
    }
    List<Launch> proxies = new ArrayList<>();
    proxies.add(
        launches.gateway(
            "ingress-gateway",
            "istio-ingressgateway",
            "istio=ingressgateway,app=istio-ingressgateway",
            Bookinfo.INGRESS_BLOCK,
            List.of(Bookinfo.GATEWAY_PORT)));
    proxies.add(
        launches.gateway(
            "egress-gateway",
            "istio-egressgateway",
            "istio=egressgateway,app=istio-egressgateway",
            Bookinfo.EGRESS_BLOCK,
            List.of()));
    List<Launch> apps = new ArrayList<>();
    for (Bookinfo.App a : Bookinfo.APPS) {
      proxies.add(launches.sidecar(a.workload()));
      apps.add(launches.bookinfoApp(a.workload(), a.env()));
    }
    String services = read(Bookinfo.services(home()));
    String gateway = read(Bookinfo.gateway(home()));
    Set<Integer> ports = new HashSet<>(pilot.binds());
    proxies.forEach(l -> ports.addAll(l.binds()));
    apps.forEach(l -> ports.addAll(l.binds()));
    extras.forEach(l -> ports.addAll(l.binds()));
    Ports.requireFree(ports.stream().sorted().toList(), "qmesh up");
    addons.writeTargets(proxies);

    Supervisor supervisor = new Supervisor(home());
    Thread stopper = new Thread(() -> stopAll(supervisor), "qmesh-stop");
    Runtime.getRuntime().addShutdownHook(stopper);
    try {
      // The addons start alongside the mesh and are waited for last.
      List<Component> addonComponents = extras.stream().map(supervisor::start).toList();
      out().println("starting pilot ...");
      out().flush();
      supervisor.awaitReady(supervisor.start(pilot), START);
      apply(services, Bookinfo.services(home()));
      wave(supervisor, "gateways and sidecars", proxies);
      wave(supervisor, "Bookinfo", apps);
      apply(gateway, Bookinfo.gateway(home()));
      waitForProductPage(supervisor);
      if (!addonComponents.isEmpty()) {
        out()
            .println(
                "waiting for " + String.join(", ", extras.stream().map(Launch::name).toList()));
        out().flush();
        addonComponents.forEach(c -> supervisor.awaitReady(c, START));
      }
    } catch (RuntimeException e) {
      err().println("qmesh up failed; stopping what started");
      err().flush();
      stopAll(supervisor);
      Runtime.getRuntime().removeShutdownHook(stopper);
      throw e;
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    out().printf("%nqmesh is up in %.1f s:%n%n", secs);
    StatusCommand.table(state.components(), false).print(out());
    out().println();
    out().println("product page:  " + Bookinfo.productPage());
    out().println("pilot:         http://127.0.0.1:" + Ports.PILOT_HTTP + "/debug/registry");
    if (prometheus.isPresent()) {
      out().println("prometheus:    " + DashboardCommand.url("prometheus"));
    }
    if (zipkin.isPresent()) {
      out().println("zipkin:        " + DashboardCommand.url("zipkin"));
    }
    Addons.missingNotes(prometheus.isPresent(), zipkin.isPresent()).forEach(out()::println);
    out().println("logs:          " + home().logs());
    out().flush();
    if (detach) {
      Runtime.getRuntime().removeShutdownHook(stopper);
      out().println("`qmesh down` stops it.");
      return 0;
    }
    out().println("Ctrl-C stops everything.");
    out().flush();
    watch(state);
    Runtime.getRuntime().removeShutdownHook(stopper);
    return 0;
  }

  /** Starts a group of components at once and waits for all of them. */
  private void wave(Supervisor supervisor, String what, List<Launch> launches) {
    out().println("starting " + what + " ...");
    out().flush();
    List<Component> started = launches.stream().map(supervisor::start).toList();
    started.forEach(c -> supervisor.awaitReady(c, START));
  }

  private void apply(String yaml, Path from) {
    PilotClient.Answer a = PilotClient.local().post("/apis/config", yaml);
    if (!a.ok()) {
      throw new Failure("pilot refused " + from + ":\n" + PilotClient.errors(a));
    }
    out().println("applied " + home().root().relativize(from));
  }

  private void waitForProductPage(Supervisor supervisor) {
    long deadline = System.nanoTime() + START.toNanos();
    while (!Supervisor.ready(Bookinfo.productPage())) {
      if (System.nanoTime() > deadline) {
        throw new Failure(
            Bookinfo.productPage()
                + " did not answer 200 within "
                + START.toSeconds()
                + " s; `qmesh status` and `qmesh logs istio-ingressgateway` may say why");
      }
      Supervisor.sleep(200);
    }
  }

  /** In the foreground: report components that exit, until all have (`qmesh down`) or Ctrl-C. */
  private void watch(MeshState state) {
    Set<String> gone = new HashSet<>();
    while (true) {
      List<Component> all = state.components();
      if (all.isEmpty() || all.stream().noneMatch(Component::alive)) {
        out().println("every component has stopped");
        out().flush();
        return;
      }
      for (Component c : all) {
        if (!c.alive() && gone.add(c.name())) {
          err().println(c.name() + " exited; `qmesh logs " + c.name() + "` shows why");
          err().flush();
        }
      }
      Supervisor.sleep(1000);
    }
  }

  private void stopAll(Supervisor supervisor) {
    List<Component> all = new MeshState(home()).components();
    if (!all.isEmpty()) {
      System.err.println("stopping " + all.size() + " components ...");
      DownCommand.stopInOrder(supervisor, all);
    }
  }

  private static String read(Path p) throws IOException {
    if (!Files.isRegularFile(p)) {
      throw new Failure("missing " + p + " (is qmesh.home the repository?)");
    }
    return Files.readString(p);
  }
}
