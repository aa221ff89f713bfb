package io.qmesh.bookinfo.productpage;

import io.qmesh.bookinfo.common.Fake;
import io.qmesh.bookinfo.common.FakeUpstream;
import io.qmesh.bookinfo.common.RecordingProxy;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.HashMap;
import java.util.Map;

/**
 * Starts fake details, reviews and ratings services (and, with arg {@code proxy=true}, a recording
 * proxy in front of them) and points productpage at them. Test fields annotated {@link Fake} and
 * named {@code details}, {@code reviews}, {@code ratings} or {@code proxy} receive them.
 */
public class FakeBookinfoResource implements QuarkusTestResourceLifecycleManager {

  private final Map<String, FakeUpstream> fakes = new HashMap<>();
  private RecordingProxy proxy;
  private boolean viaProxy;

  @Override
  public void init(Map<String, String> initArgs) {
    viaProxy = Boolean.parseBoolean(initArgs.get("proxy"));
  }

  @Override
  public Map<String, String> start() {
    Map<String, String> config = new HashMap<>();
    config.put("bookinfo.session-secret", "test-secret");
    if (viaProxy) {
      proxy = new RecordingProxy();
      config.put("http.proxyHost", "127.0.0.1");
      config.put("http.proxyPort", String.valueOf(proxy.port()));
    }
    for (String service : new String[] {"details", "reviews", "ratings"}) {
      FakeUpstream fake = new FakeUpstream();
      fakes.put(service, fake);
      if (viaProxy) {
        proxy.route(service, fake.port());
        config.put("bookinfo." + service + ".hostname", service);
        config.put("bookinfo." + service + ".port", "9080");
      } else {
        config.put("bookinfo." + service + ".hostname", "127.0.0.1");
        config.put("bookinfo." + service + ".port", String.valueOf(fake.port()));
      }
    }
    return config;
  }

  @Override
  public void inject(TestInjector injector) {
    fakes.forEach(
        (name, fake) ->
            injector.injectIntoFields(
                fake, f -> f.isAnnotationPresent(Fake.class) && f.getName().equals(name)));
    if (proxy != null) {
      injector.injectIntoFields(
          proxy, f -> f.isAnnotationPresent(Fake.class) && f.getName().equals("proxy"));
    }
  }

  @Override
  public void stop() {
    fakes.values().forEach(FakeUpstream::close);
    if (proxy != null) {
      proxy.close();
    }
  }
}
