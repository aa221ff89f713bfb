package io.qmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;

/** {@code qmesh proxy-status}: each proxy's sync state with pilot, as istioctl shows it. */
@Command(
    name = "proxy-status",
    aliases = "ps",
    description = "Show every connected proxy's xDS sync state with pilot.")
final class ProxyStatusCommand extends MeshCommand {

  @Override
  public Integer call() {
    PilotClient.Answer a = PilotClient.local().get("/debug/connections");
    if (!a.ok()) {
      throw new Failure(PilotClient.errors(a));
    }
    Table t = new Table("NAME", "TYPE", "CDS", "LDS", "EDS", "RDS", "PILOT");
    for (JsonNode c : a.body()) {
      JsonNode types = c.path("types");
      t.row(
          name(c.path("id").asText()),
          c.path("type").asText(),
          sync(types.path("cds")),
          sync(types.path("lds")),
          sync(types.path("eds")),
          sync(types.path("rds")),
          "127.0.0.1:" + Ports.PILOT_XDS);
    }
    if (t.size() == 0) {
      out().println("no proxies are connected to pilot");
    } else {
      t.print(out());
    }
    out().flush();
    return 0;
  }

  /** {@code sidecar~ip~reviews-v1-ab12.default~default.svc.cluster.local} → its third part. */
  static String name(String id) {
    String[] parts = id.split("~");
    return parts.length == 4 ? parts[2] : id;
  }

  /** SYNCED, NOT SENT, STALE (sent, not acknowledged) or NACKED. */
  static String sync(JsonNode t) {
    if (t.isMissingNode() || t.path("sent").asText().isEmpty()) {
      return "NOT SENT";
    }
    if (t.path("synced").asBoolean()) {
      return "SYNCED";
    }
    JsonNode nack = t.path("lastNack");
    if (!nack.isMissingNode() && nack.path("version").asText().equals(t.path("sent").asText())) {
      return "NACKED";
    }
    return "STALE";
  }
}
