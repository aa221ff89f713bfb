package io.qmesh.pilot.xds;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The cache as the xDS server sees it, with one change: a NACK waits for the next snapshot instead
 * of being answered with the snapshot just rejected. A NACK names the last version the proxy
 * accepted, which java-control-plane would take as "out of date" and answer at once with the same
 * rejected config, over and over; Istio likewise does not resend a version a proxy refused.
 */
final class NackAwareWatcher implements ConfigWatcher {

  private final SimpleCache<String> cache;

  NackAwareWatcher(SimpleCache<String> cache) {
    this.cache = cache;
  }

  @Override
  public Watch createWatch(
      boolean ads,
      XdsRequest request,
      Set<String> knownResourceNames,
      Consumer<Response> responseConsumer,
      boolean hasClusterChanged,
      boolean allowDefaultEmptyEdsUpdate) {
    if (request.hasErrorDetail()) {
      Snapshot current = cache.getSnapshot(request.v3Request().getNode().getId());
      if (current != null) {
        String rejected =
            current.version(request.getResourceType(), request.getResourceNamesList());
        request =
            XdsRequest.create(request.v3Request().toBuilder().setVersionInfo(rejected).build());
      }
    }
    return cache.createWatch(
        ads,
        request,
        knownResourceNames,
        responseConsumer,
        hasClusterChanged,
        allowDefaultEmptyEdsUpdate);
  }

  @Override
  public DeltaWatch createDeltaWatch(
      DeltaXdsRequest request,
      String requesterVersion,
      Map<String, String> resourceVersions,
      Set<String> pendingResources,
      boolean isWildcard,
      Consumer<DeltaResponse> responseConsumer,
      boolean hasClusterChanged) {
    return cache.createDeltaWatch(
        request,
        requesterVersion,
        resourceVersions,
        pendingResources,
        isWildcard,
        responseConsumer,
        hasClusterChanged);
  }
}
