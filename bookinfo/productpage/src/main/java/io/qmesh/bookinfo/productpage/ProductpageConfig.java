package io.qmesh.bookinfo.productpage;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Optional;

/** productpage's settings; application.properties maps Istio's environment variables. */
@ConfigMapping(prefix = "bookinfo")
public interface ProductpageConfig {

  /** The details service. */
  Service details();

  /** The reviews service. */
  Service reviews();

  /** The ratings service (the JSON API's ratings endpoint). */
  Service ratings();

  /** Appended to service host names as {@code .<domain>} (Istio's SERVICES_DOMAIN). */
  Optional<String> servicesDomain();

  /** Key that signs the session cookie; a random one per process when unset. */
  Optional<String> sessionSecret();

  /** Where a service is. */
  interface Service {
    /** Host name. */
    String hostname();

    /** Port. */
    @WithDefault("9080")
    int port();
  }
}
