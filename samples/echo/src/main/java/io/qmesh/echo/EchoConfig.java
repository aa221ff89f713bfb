package io.qmesh.echo;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Optional;

/** The echo workload's settings (environment variables in application.properties). */
@ConfigMapping(prefix = "echo")
public interface EchoConfig {

  /** Reported as ServiceVersion (SERVICE_VERSION). */
  @WithDefault("v1")
  String version();

  /** Reported as Hostname (HOSTNAME); the local host name when unset. */
  Optional<String> hostname();

  /** The TCP echo port (ECHO_TCP_PORT); 0 picks a free port, a negative value turns it off. */
  @WithDefault("9090")
  int tcpPort();

  /** Fraction of HTTP and gRPC requests, 0 to 1, that fail on their own (ECHO_FAIL_FRACTION). */
  @WithDefault("0")
  double failFraction();

  /** The HTTP status of those failures (ECHO_FAIL_CODE); gRPC fails with UNAVAILABLE. */
  @WithDefault("503")
  int failCode();
}
