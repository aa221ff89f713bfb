package io.qmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Instant;
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
                + " \\+ 3 more...\\s+/\\*\\s+outbound\\|9080\\|v1\\|reviews.default.svc.cluster.local");
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
  void secretsShowTheWorkloadChainAndTheRootAsIstioctlDoes() throws Exception {
    // The shape of the proxy's /certs (Admin.certs).
    JsonNode certs =
        json(
            "{\"certificates\":[{"
                + "\"ca_cert\":[{\"serial_number\":\"1f\",\"subject_alt_names\":[],"
                + "\"valid_from\":\"2026-01-01T00:00:00Z\","
                + "\"expiration_time\":\"2036-01-01T00:00:00Z\"}],"
                + "\"cert_chain\":[{\"serial_number\":\"a1b2\","
                + "\"subject_alt_names\":[{\"uri\":\"spiffe://cluster.local/ns/default/sa/bookinfo-reviews\"}],"
                + "\"valid_from\":\"2026-11-26T08:00:00Z\","
                + "\"expiration_time\":\"2026-11-27T08:00:00Z\"}]}],"
                + "\"identity\":\"spiffe://cluster.local/ns/default/sa/bookinfo-reviews\","
                + "\"next_renewal\":\"2026-11-26T19:40:00Z\",\"last_error\":null}");

    String text =
        String.join("\n", ProxyConfigCommand.secrets(certs, Instant.parse("2026-11-26T09:00:00Z")));

    assertThat(text)
        .startsWith("RESOURCE NAME")
        .containsPattern(
            "default\\s+Cert Chain\\s+ACTIVE\\s+true\\s+a1b2\\s+2026-11-27T08:00:00Z\\s+2026-11-26T08:00:00Z")
        .containsPattern("ROOTCA\\s+CA\\s+ACTIVE\\s+true\\s+1f\\s+2036-01-01T00:00:00Z")
        .contains("identity:      spiffe://cluster.local/ns/default/sa/bookinfo-reviews")
        .contains("SAN:           uri:spiffe://cluster.local/ns/default/sa/bookinfo-reviews")
        .contains("next renewal:  2026-11-26T19:40:00Z")
        .doesNotContain("CA error");
    // Past its expiry the chain is shown as not valid.
    assertThat(
            String.join(
                "\n", ProxyConfigCommand.secrets(certs, Instant.parse("2026-11-28T00:00:00Z"))))
        .containsPattern("default\\s+Cert Chain\\s+ACTIVE\\s+false");
    // A proxy without mutual TLS has no secrets.
    assertThat(ProxyConfigCommand.secrets(json("{\"certificates\":[]}"), Instant.now()))
        .containsExactly("no certificates: this proxy runs without mutual TLS");
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
