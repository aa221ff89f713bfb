package io.qmesh.pilot;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** Pilot's settings ({@code qmesh.pilot.*}). */
@ConfigMapping(prefix = "qmesh.pilot")
public interface PilotConfig {

  /** Where the local config store keeps its objects ({@code <state-dir>/config}). */
  @WithDefault(".qmesh")
  String stateDir();

  /** The plaintext xDS (ADS) port; 0 picks a free one. */
  @WithDefault("15010")
  int xdsPort();

  /** The address the xDS server binds. */
  @WithDefault("0.0.0.0")
  String xdsHost();

  /** How long after a change pilot waits for more before pushing (a burst is one push). */
  @WithDefault("100ms")
  Duration debounce();

  /** How long an auto-registered workload outlives its proxy's stream (reconnects keep it). */
  @WithDefault("10s")
  Duration registrationGrace();

  /** The namespace of applied objects that name none. */
  @WithDefault("default")
  String defaultNamespace();
}
