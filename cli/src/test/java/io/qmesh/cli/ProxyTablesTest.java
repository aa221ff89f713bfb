package io.qmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * proxy-config's tables and proxy-status' states, from what pilot really sends a sidecar (its
 * golden translation of Istio's virtual-service-all-v1 sample).
 */
class ProxyTablesTest {

  private static final Path GOLDEN =
      Path.of("../pilot/src/test/resources/golden/samples/virtual-service-all-v1/productpage.json");

  @Test
  void tablesShowWhatTheSidecarRuns() throws Exception {
    JsonNode config = PilotClient.JSON.readTree(GOLDEN.toFile());

    assertThat(print(ProxyConfigCommand.listeners(config.path("listeners"))))
        .containsPattern("0\\.0\\.0\\.0_9080\\s+0\\.0\\.0\\.0\\s+9080\\s+Route: 9080");
    assertThat(print(ProxyConfigCommand.routes(config.path("routes"))))
        .containsPattern(
            "9080\\s+reviews.default.svc.cluster.local:9080\\s+reviews.default.svc.cluster.local"
                + " \\+ 7 more...\\s+/\\*\\s+outbound\\|9080\\|v1\\|reviews.default.svc.cluster.local");
    assertThat(print(ProxyConfigCommand.clusters(config.path("clusters"))))
        .startsWith("SERVICE FQDN")
        .containsPattern("reviews.default.svc.cluster.local\\s+9080\\s+v3\\s+outbound\\s+EDS")
        .containsPattern("BlackHoleCluster\\s+-\\s+-\\s+-\\s+STATIC");
  }

  @Test
  void endpointsShowTheHostsOutlierDetectionEjected() throws Exception {
    // The shape of the proxy's /clusters?format=json (Admin.clusterStatuses).
    JsonNode statuses =
        json(
            "{\"cluster_statuses\":[{\"name\":\"outbound|9080||echo.default.svc.cluster.local\","
                + "\"host_statuses\":["
                + "{\"address\":{\"socket_address\":{\"address\":\"127.0.0.1\",\"port_value\":20086}},"
                + "\"health_status\":{\"eds_health_status\":\"HEALTHY\"}},"
                + "{\"address\":{\"socket_address\":{\"address\":\"127.0.0.1\",\"port_value\":20096}},"
                + "\"health_status\":{\"eds_health_status\":\"HEALTHY\",\"failed_outlier_check\":true}}"
                + "]}]}");

    assertThat(print(ProxyConfigCommand.endpoints(statuses)))
        .startsWith("ENDPOINT")
        .containsPattern("127\\.0\\.0\\.1:20086\\s+HEALTHY\\s+OK\\s+outbound\\|9080\\|\\|echo")
        .containsPattern("127\\.0\\.0\\.1:20096\\s+HEALTHY\\s+FAILED\\s+outbound");
  }

  @Test
  void syncStatesAsIstioctlNamesThem() throws Exception {
    assertThat(ProxyStatusCommand.sync(json("{\"sent\":\"3\",\"acked\":\"3\",\"synced\":true}")))
        .isEqualTo("SYNCED");
    assertThat(ProxyStatusCommand.sync(json("{\"sent\":\"\",\"acked\":\"\",\"synced\":false}")))
        .isEqualTo("NOT SENT");
    assertThat(ProxyStatusCommand.sync(json("{\"sent\":\"4\",\"acked\":\"3\",\"synced\":false}")))
        .isEqualTo("STALE");
    assertThat(
            ProxyStatusCommand.sync(
                json(
                    "{\"sent\":\"4\",\"acked\":\"3\",\"synced\":false,"
                        + "\"lastNack\":{\"version\":\"4\",\"error\":\"bad regex\"}}")))
        .isEqualTo("NACKED");
    assertThat(
            ProxyStatusCommand.name(
                "sidecar~127.0.0.1~reviews-v1-ab12cd34.default~default.svc.cluster.local"))
        .isEqualTo("reviews-v1-ab12cd34.default");
  }

  private static JsonNode json(String s) throws Exception {
    return PilotClient.JSON.readTree(s);
  }

  private static String print(Table t) {
    StringWriter w = new StringWriter();
    t.print(new PrintWriter(w));
    return w.toString();
  }
}
