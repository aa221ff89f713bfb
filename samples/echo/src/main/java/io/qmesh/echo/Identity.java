package io.qmesh.echo;

import jakarta.inject.Singleton;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** What the workload says about itself in every answer. */
@Singleton
public class Identity {

  private final String version;
  private final String hostname;

  public Identity(EchoConfig config) {
    this.version = config.version();
    this.hostname = config.hostname().filter(h -> !h.isBlank()).orElseGet(Identity::localHostName);
  }

  public String version() {
    return version;
  }

  public String hostname() {
    return hostname;
  }

  private static String localHostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "unknown";
    }
  }
}
