package io.qmesh.bookinfo.reviews;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Optional;

/** The reviews service's settings; application.properties maps Istio's environment variables. */
@ConfigMapping(prefix = "bookinfo")
public interface ReviewsConfig {

  /** This version's behaviour. */
  Reviews reviews();

  /** Where the ratings service is. */
  Ratings ratings();

  /** Appended to service host names as {@code .<domain>} (Istio's SERVICES_DOMAIN). */
  Optional<String> servicesDomain();

  /** Reported as {@code podname}; the local host name when unset. */
  Optional<String> podname();

  /** Reported as {@code clustername}; Istio's service reports the string "null" when unset. */
  @WithDefault("null")
  String clustername();

  /** The version switches. */
  interface Reviews {
    /** Whether reviews carry ratings (v2, v3). */
    @WithDefault("false")
    boolean ratingsEnabled();

    /** The stars' color: black (v2) or red (v3). */
    @WithDefault("black")
    String starColor();
  }

  /** The ratings service's address. */
  interface Ratings {
    /** Host name of the ratings service. */
    @WithDefault("ratings")
    String hostname();

    /** Port of the ratings service. */
    @WithDefault("9080")
    int port();
  }
}
