package io.qmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What `qmesh up` gives Prometheus, and what `dashboard` says when nothing runs. */
class AddonsTest {

  @TempDir Path dir;

  @Test
  void targetsAreEveryProxysMergedPortWithIstiosPodLabelsAndPilotAsIstiod() throws Exception {
    Home home = new Home(dir, dir.resolve(".qmesh"));
    for (String module : List.of("ingress-gateway", "sidecar")) {
      Path jar = dir.resolve(module + "/target/quarkus-app/quarkus-run.jar");
      Files.createDirectories(jar.getParent());
      Files.createFile(jar); // launches name the jar; nothing starts here
    }
    Launches launches = new Launches(home);
    Launch gateway =
        launches.gateway(
            "ingress-gateway",
            "istio-ingressgateway",
            "istio=ingressgateway,app=istio-ingressgateway",
            0,
            List.of(8080));
    Launch sidecar = launches.sidecar(Bookinfo.APPS.get(0).workload());
    new Addons(home).writeTargets(List.of(gateway, sidecar));

    Path targets = dir.resolve(".qmesh/prometheus/targets");
    JsonNode proxies = PilotClient.JSON.readTree(targets.resolve("proxies.json").toFile());
    assertThat(proxies).hasSize(2);
    assertThat(proxies.get(0).path("targets").get(0).asText())
        .isEqualTo("127.0.0.1:" + gateway.ports().get("stats"));
    assertThat(PilotClient.JSON.convertValue(proxies.get(0).path("labels"), Map.class))
        .isEqualTo(
            Map.of(
                "istio", "ingressgateway",
                "app", "istio-ingressgateway",
                "namespace", "istio-system",
                "pod", "istio-ingressgateway"));
    String app = Bookinfo.APPS.get(0).workload().app();
    assertThat(proxies.get(1).path("labels").path("app").asText()).isEqualTo(app);
    assertThat(proxies.get(1).path("labels").path("namespace").asText()).isEqualTo("default");
    assertThat(proxies.get(1).path("targets").get(0).asText())
        .isEqualTo("127.0.0.1:" + sidecar.ports().get("stats"));

    JsonNode control = PilotClient.JSON.readTree(targets.resolve("control-plane.json").toFile());
    assertThat(control.get(0).path("targets").get(0).asText())
        .isEqualTo("127.0.0.1:" + Ports.PILOT_HTTP);
    assertThat(control.get(0).path("labels").path("app").asText()).isEqualTo("istiod");
    assertThat(Files.list(targets)).allSatisfy(p -> assertThat(p.toString()).endsWith(".json"));
  }

  @Test
  void dashboardSaysWhatIsNotRunningAndNamesTheChoices() {
    Cli.Run none = Cli.run(dir, dir.resolve(".qmesh"), "dashboard", "prometheus");
    assertThat(none.code()).isEqualTo(1);
    assertThat(none.err()).contains("prometheus is not running here");
    Cli.Run unknown = Cli.run(dir, dir.resolve(".qmesh"), "dashboard", "grafana");
    assertThat(unknown.code()).isEqualTo(1);
    assertThat(unknown.err())
        .contains("unknown dashboard 'grafana'; one of [prometheus, zipkin, console]");
  }
}
