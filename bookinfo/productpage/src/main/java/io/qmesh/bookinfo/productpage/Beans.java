package io.qmesh.bookinfo.productpage;

import io.qmesh.bookinfo.common.ProxySettings;
import io.qmesh.bookinfo.common.UpstreamClient;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.Config;

/** The application's shared objects. */
public class Beans {

  /** The one upstream client, honouring the proxy settings visible to MicroProfile Config. */
  @Produces
  @Singleton
  UpstreamClient upstream(Config config) {
    return new UpstreamClient(
        ProxySettings.resolve(key -> config.getOptionalValue(key, String.class)));
  }

  @Produces
  @Singleton
  Session session(ProductpageConfig config) {
    return new Session(config.sessionSecret());
  }
}
