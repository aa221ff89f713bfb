package io.qmesh.cli;

import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code qmesh dashboard prometheus|zipkin|console}: the URL of an addon {@code qmesh up} started,
 * as {@code istioctl dashboard} opens them.
 */
@Command(
    name = "dashboard",
    description = "Print the URL of prometheus, zipkin or console (pilot's debug pages).")
final class DashboardCommand extends MeshCommand {

  private static final Map<String, String> URLS =
      Map.of(
          "prometheus", "http://127.0.0.1:" + Addons.PROMETHEUS_PORT + "/",
          "zipkin", "http://127.0.0.1:" + Addons.ZIPKIN_PORT + "/zipkin/",
          "console", "http://127.0.0.1:" + Ports.PILOT_HTTP + "/debug/registry");

  @Parameters(index = "0", description = "prometheus, zipkin or console")
  String name;

  static String url(String addon) {
    return URLS.get(addon);
  }

  @Override
  public Integer call() {
    String url = URLS.get(name);
    if (url == null) {
      throw new Failure(
          "unknown dashboard '" + name + "'; one of " + List.of("prometheus", "zipkin", "console"));
    }
    String component = name.equals("console") ? "pilot" : name;
    boolean running =
        state().components().stream().anyMatch(c -> c.name().equals(component) && c.alive());
    if (!running) {
      throw new Failure(
          component
              + " is not running here"
              + (name.equals("console")
                  ? "; `qmesh up` starts the mesh"
                  : "; `qmesh up` starts it when it is installed (see `qmesh up`'s notes)"));
    }
    out().println(url);
    out().flush();
    return 0;
  }
}
