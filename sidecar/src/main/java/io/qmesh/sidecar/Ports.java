package io.qmesh.sidecar;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Parsing of the sidecar's compact settings, with errors naming the setting and the part. */
final class Ports {

  /**
   * One workload port: the service's target port, where the sidecar listens, where the app is, and
   * whether it is plain TCP (bytes piped to the app) rather than HTTP.
   */
  record Inbound(int targetPort, int listenPort, int appPort, boolean tcp) {}

  private Ports() {}

  static List<Inbound> inbound(String text) {
    List<Inbound> out = new ArrayList<>();
    if (text == null || text.isBlank()) {
      return out;
    }
    for (String part : text.split(",")) {
      String spec = part.trim();
      boolean tcp = false;
      int slash = spec.indexOf('/');
      if (slash >= 0) {
        String protocol = spec.substring(slash + 1);
        if (!protocol.equals("tcp") && !protocol.equals("http")) {
          throw new IllegalArgumentException(
              "qmesh.sidecar.inbound: '"
                  + spec
                  + "': protocol '"
                  + protocol
                  + "' is not tcp or http");
        }
        tcp = protocol.equals("tcp");
        spec = spec.substring(0, slash);
      }
      String[] p = spec.split(":");
      if (p.length != 3) {
        throw new IllegalArgumentException(
            "qmesh.sidecar.inbound: '"
                + part.trim()
                + "' is not targetPort:listenPort:appPort[/tcp]");
      }
      out.add(new Inbound(port(p[0], part), port(p[1], part), port(p[2], part), tcp));
    }
    return out;
  }

  static Map<String, String> labels(String text) {
    return io.qmesh.proxy.xds.Nodes.labels("qmesh.sidecar.labels", text);
  }

  private static int port(String text, String part) {
    try {
      int p = Integer.parseInt(text.trim());
      if (p < 0 || p > 65535) {
        throw new NumberFormatException();
      }
      return p;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "qmesh.sidecar.inbound: '" + text + "' in '" + part.trim() + "' is not a port");
    }
  }
}
