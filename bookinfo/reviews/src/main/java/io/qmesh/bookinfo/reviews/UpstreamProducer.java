package io.qmesh.bookinfo.reviews;

import io.qmesh.bookinfo.common.ProxySettings;
import io.qmesh.bookinfo.common.UpstreamClient;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.Config;

/** The one upstream client, honouring the proxy settings visible to MicroProfile Config. */
public class UpstreamProducer {

  @Produces
  @Singleton
  UpstreamClient upstream(Config config) {
    return new UpstreamClient(
        ProxySettings.resolve(key -> config.getOptionalValue(key, String.class)));
  }
}
