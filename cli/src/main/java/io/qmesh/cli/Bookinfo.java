package io.qmesh.cli;

import io.qmesh.cli.Launches.Workload;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What {@code qmesh up} runs: Istio's gateways and Bookinfo's six workloads as Istio's {@code
 * bookinfo.yaml} deploys them (names, labels, service accounts, settings), each in its own block of
 * ports.
 */
final class Bookinfo {

  static final int INGRESS_BLOCK = 0;
  static final int EGRESS_BLOCK = 1;

  /** The port {@code bookinfo-gateway.yaml} opens on the ingress gateway. */
  static final int GATEWAY_PORT = 8080;

  /** A Bookinfo workload and its app's settings. */
  record App(Workload workload, Map<String, String> env) {}

  static final List<App> APPS =
      List.of(
          app("details", "v1", 2, Map.of()),
          app("ratings", "v1", 3, Map.of()),
          app("reviews", "v1", 4, Map.of("ENABLE_RATINGS", "false")),
          app("reviews", "v2", 5, Map.of("ENABLE_RATINGS", "true", "STAR_COLOR", "black")),
          app("reviews", "v3", 6, Map.of("ENABLE_RATINGS", "true", "STAR_COLOR", "red")),
          app("productpage", "v1", 7, Map.of()));

  private Bookinfo() {}

  private static App app(String app, String version, int block, Map<String, String> env) {
    return new App(
        Workload.inBlock(app + "-" + version, app, version, "bookinfo-" + app, block, 9080), env);
  }

  /** Bookinfo's Services, as Istio's {@code bookinfo.yaml} declares them. */
  static Path services(Home home) {
    return home.root().resolve("bookinfo/platform/bookinfo-services.yaml");
  }

  /** Istio's {@code bookinfo-gateway.yaml}, unchanged. */
  static Path gateway(Home home) {
    return home.root().resolve("bookinfo/networking/bookinfo-gateway.yaml");
  }

  static String productPage() {
    return "http://127.0.0.1:" + GATEWAY_PORT + "/productpage";
  }
}
