package io.qmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code qmesh proxy-config listeners|routes|clusters|endpoints|secret|all <workload>}: what a
 * proxy runs, read from its admin endpoint, in istioctl's tables.
 */
@Command(
    name = "proxy-config",
    aliases = "pc",
    description =
        "Show a proxy's listeners, routes, clusters, endpoints or secrets (from its admin port).")
final class ProxyConfigCommand extends MeshCommand {

  private static final List<String> TYPES =
      List.of("listeners", "routes", "clusters", "endpoints", "secrets", "all");

  @Parameters(index = "0", description = "listeners, routes, clusters, endpoints, secret or all")
  String type;

  @Parameters(index = "1", description = "The workload (or gateway) whose proxy to read.")
  String workload;

  @Option(
      names = {"-o", "--output"},
      description = "table (default) or json")
  String output = "table";

  @Override
  public Integer call() throws Exception {
    String t = type.endsWith("s") || type.equals("all") ? type : type + "s";
    if (!TYPES.contains(t)) {
      throw new Failure("'" + type + "' is not one of " + String.join(", ", TYPES));
    }
    Component proxy =
        state()
            .proxyOf(workload)
            .orElseThrow(
                () ->
                    new Failure(
                        "no proxy for '" + workload + "' here (`qmesh status` lists them)"));
    if (t.equals("secrets")) {
      JsonNode certs = get(proxy.port("admin"), "/certs", proxy.name());
      if (output.equals("json")) {
        out().println(PilotClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(certs));
      } else {
        secrets(certs, java.time.Instant.now()).forEach(out()::println);
      }
      out().flush();
      return 0;
    }
    JsonNode dump = dump(proxy.port("admin"), proxy.name());
    JsonNode configs = dump.path("configs");
    if (output.equals("json")) {
      out()
          .println(
              PilotClient.JSON
                  .writerWithDefaultPrettyPrinter()
                  .writeValueAsString(t.equals("all") ? configs : configs.path(t)));
      out().flush();
      return 0;
    }
    List<String> shown = t.equals("all") ? TYPES.subList(0, 5) : List.of(t);
    for (String s : shown) {
      if (shown.size() > 1) {
        out().println(s.toUpperCase() + ":");
      }
      switch (s) {
        case "listeners" -> listeners(configs.path(s)).print(out());
        case "routes" -> routes(configs.path(s)).print(out());
        case "clusters" -> clusters(configs.path(s)).print(out());
        case "secrets" ->
            secrets(get(proxy.port("admin"), "/certs", proxy.name()), java.time.Instant.now())
                .forEach(out()::println);
        default ->
            endpoints(get(proxy.port("admin"), "/clusters?format=json", proxy.name())).print(out());
      }
      if (shown.size() > 1) {
        out().println();
      }
    }
    out().flush();
    return 0;
  }

  static JsonNode dump(int admin, String name) throws IOException, InterruptedException {
    return get(admin, "/config_dump", name);
  }

  static JsonNode get(int admin, String path, String name)
      throws IOException, InterruptedException {
    try {
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + path))
                      .timeout(Duration.ofSeconds(10))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new Failure(name + "'s admin answered " + r.statusCode() + ": " + r.body());
      }
      return PilotClient.JSON.readTree(r.body());
    } catch (java.net.ConnectException e) {
      throw new Failure(name + " is not answering on its admin port " + admin);
    }
  }

  static Table listeners(JsonNode listeners) {
    Table t = new Table("NAME", "ADDRESS", "PORT", "DESTINATION");
    for (JsonNode l : listeners) {
      JsonNode sa = l.path("address").path("socketAddress");
      List<String> dest = new ArrayList<>();
      for (JsonNode fc : l.path("filterChains")) {
        for (JsonNode f : fc.path("filters")) {
          JsonNode c = f.path("typedConfig");
          if (c.has("rds")) {
            dest.add("Route: " + c.path("rds").path("routeConfigName").asText());
          } else if (c.has("routeConfig")) {
            dest.add("Inline Route: " + c.path("routeConfig").path("name").asText());
          } else if (c.has("cluster")) {
            dest.add("Cluster: " + c.path("cluster").asText());
          }
        }
      }
      if (l.has("apiListener")) {
        dest.add("API listener");
      }
      t.row(
          l.path("name").asText(),
          sa.path("address").asText(),
          sa.path("portValue").asText(),
          String.join("; ", dest));
    }
    return t;
  }

  static Table routes(JsonNode routes) {
    Table t = new Table("NAME", "VHOST NAME", "DOMAINS", "MATCH", "DESTINATION");
    for (JsonNode rc : routes) {
      for (JsonNode vh : rc.path("virtualHosts")) {
        JsonNode domains = vh.path("domains");
        String d =
            domains.isEmpty()
                ? ""
                : domains.get(0).asText()
                    + (domains.size() > 1 ? " + " + (domains.size() - 1) + " more..." : "");
        for (JsonNode r : vh.path("routes")) {
          t.row(rc.path("name").asText(), vh.path("name").asText(), d, match(r), dest(r));
        }
      }
    }
    return t;
  }

  private static String match(JsonNode r) {
    JsonNode m = r.path("match");
    String path =
        m.has("prefix")
            ? m.path("prefix").asText() + "*"
            : m.has("path")
                ? m.path("path").asText()
                : m.has("safeRegex") ? m.path("safeRegex").path("regex").asText() : "";
    int headers = m.path("headers").size();
    return headers == 0 ? path : path + " (+" + headers + " header match)";
  }

  private static String dest(JsonNode r) {
    JsonNode route = r.path("route");
    if (route.has("cluster")) {
      return route.path("cluster").asText();
    }
    if (route.has("weightedClusters")) {
      List<String> w = new ArrayList<>();
      route
          .path("weightedClusters")
          .path("clusters")
          .forEach(c -> w.add(c.path("name").asText() + " " + c.path("weight").asText() + "%"));
      return String.join(", ", w);
    }
    if (r.has("redirect")) {
      return "redirect";
    }
    if (r.has("directResponse")) {
      return "direct response " + r.path("directResponse").path("status").asText();
    }
    return "";
  }

  static Table clusters(JsonNode clusters) {
    Table t = new Table("SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE");
    for (JsonNode c : clusters) {
      String name = c.path("name").asText();
      String[] parts = name.split("\\|", -1);
      String type = c.path("type").asText(c.has("edsClusterConfig") ? "EDS" : "");
      if (parts.length == 4) {
        t.row(parts[3], parts[1], parts[2].isEmpty() ? "-" : parts[2], parts[0], type);
      } else {
        t.row(name, "-", "-", "-", type);
      }
    }
    return t;
  }

  /**
   * istioctl's endpoints table from the proxy's live {@code /clusters?format=json}: each host of
   * each cluster, HEALTHY or UNHEALTHY, and whether outlier detection has ejected it.
   */
  static Table endpoints(JsonNode clusterStatuses) {
    Table t = new Table("ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER");
    for (JsonNode c : clusterStatuses.path("cluster_statuses")) {
      for (JsonNode h : c.path("host_statuses")) {
        JsonNode sa = h.path("address").path("socket_address");
        boolean ejected = h.path("health_status").path("failed_outlier_check").asBoolean();
        t.row(
            sa.path("address").asText() + ":" + sa.path("port_value").asText(),
            h.path("health_status").path("eds_health_status").asText("HEALTHY"),
            ejected ? "FAILED" : "OK",
            c.path("name").asText());
      }
    }
    return t;
  }

  /**
   * istioctl's secret table from the proxy's {@code /certs}: Istio's two SDS secrets, {@code
   * default} (the workload's chain) and {@code ROOTCA} (the mesh's root), with whether each is
   * valid now, its serial and its validity; then the identity, the next renewal and the CA's last
   * error. A proxy without mutual TLS says so.
   */
  static List<String> secrets(JsonNode certs, java.time.Instant now) {
    JsonNode entry = certs.path("certificates").path(0);
    if (entry.isMissingNode() || !certs.hasNonNull("identity")) {
      return List.of("no certificates: this proxy runs without mutual TLS");
    }
    Table t =
        new Table(
            "RESOURCE NAME",
            "TYPE",
            "STATUS",
            "VALID CERT",
            "SERIAL NUMBER",
            "NOT AFTER",
            "NOT BEFORE");
    JsonNode chain = entry.path("cert_chain");
    if (chain.isEmpty()) {
      t.row("default", "Cert Chain", "WARMING", "false", "-", "-", "-");
    } else {
      secretRow(t, "default", "Cert Chain", chain.get(0), now);
    }
    for (JsonNode root : entry.path("ca_cert")) {
      secretRow(t, "ROOTCA", "CA", root, now);
    }
    List<String> out = new ArrayList<>(t.lines());
    out.add("");
    out.add("identity:      " + certs.path("identity").asText());
    if (!chain.isEmpty()) {
      for (JsonNode san : chain.get(0).path("subject_alt_names")) {
        san.fields()
            .forEachRemaining(
                f -> out.add("SAN:           " + f.getKey() + ":" + f.getValue().asText()));
      }
    }
    if (certs.hasNonNull("next_renewal")) {
      out.add("next renewal:  " + certs.path("next_renewal").asText());
    }
    if (certs.hasNonNull("last_error")) {
      out.add("CA error:      " + certs.path("last_error").asText());
    }
    return out;
  }

  private static void secretRow(
      Table t, String name, String type, JsonNode cert, java.time.Instant now) {
    String from = cert.path("valid_from").asText();
    String to = cert.path("expiration_time").asText();
    boolean valid;
    try {
      valid =
          !now.isBefore(java.time.Instant.parse(from)) && now.isBefore(java.time.Instant.parse(to));
    } catch (java.time.format.DateTimeParseException e) {
      valid = false;
    }
    t.row(
        name, type, "ACTIVE", String.valueOf(valid), cert.path("serial_number").asText(), to, from);
  }
}
