package io.qmesh.bookinfo.reviews;

import io.qmesh.bookinfo.common.Fake;
import io.qmesh.bookinfo.common.FakeUpstream;
import io.qmesh.bookinfo.common.RecordingProxy;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.HashMap;
import java.util.Map;

/**
 * Starts a fake ratings service (and, with arg {@code proxy=true}, a recording proxy in front of
 * it) and configures reviews as the version named by arg {@code version} (v1, v2 or v3).
 */
public class FakeRatingsResource implements QuarkusTestResourceLifecycleManager {

  private FakeUpstream ratings;
  private RecordingProxy proxy;
  private Map<String, String> args = Map.of();

  @Override
  public void init(Map<String, String> initArgs) {
    args = initArgs;
  }

  @Override
  public Map<String, String> start() {
    ratings = new FakeUpstream();
    Map<String, String> config = new HashMap<>();
    String version = args.getOrDefault("version", "v1");
    config.put("bookinfo.podname", "reviews-" + version + "-test");
    config.put("bookinfo.reviews.ratings-enabled", String.valueOf(!version.equals("v1")));
    config.put("bookinfo.reviews.star-color", version.equals("v3") ? "red" : "black");
    if (Boolean.parseBoolean(args.get("proxy"))) {
      proxy = new RecordingProxy().route("ratings", ratings.port());
      config.put("bookinfo.ratings.hostname", "ratings");
      config.put("bookinfo.ratings.port", "9080");
      config.put("http.proxyHost", "127.0.0.1");
      config.put("http.proxyPort", String.valueOf(proxy.port()));
    } else {
      config.put("bookinfo.ratings.hostname", "127.0.0.1");
      config.put("bookinfo.ratings.port", String.valueOf(ratings.port()));
    }
    return config;
  }

  @Override
  public void inject(TestInjector injector) {
    injector.injectIntoFields(
        ratings, new TestInjector.AnnotatedAndMatchesType(Fake.class, FakeUpstream.class));
    if (proxy != null) {
      injector.injectIntoFields(
          proxy, new TestInjector.AnnotatedAndMatchesType(Fake.class, RecordingProxy.class));
    }
  }

  @Override
  public void stop() {
    ratings.close();
    if (proxy != null) {
      proxy.close();
    }
  }
}
