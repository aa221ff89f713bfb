package io.qmesh.pilot.xds;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The cache as the xDS server sees it, with one change: a NACK waits for the next snapshot instead
 * of being answered with the snapshot just rejected; Istio likewise does not resend a version a
 * proxy refused.
 *
 * <ul>
 *   <li>State of the world: a NACK names the last version the proxy accepted, which
 *       java-control-plane would take as "out of date" and answer at once with the same rejected
 *       config, over and over. The watch is made as if the NACK named the rejected version.
 *   <li>Delta: java-control-plane answers a NACK's watch at once with every subscribed name the
 *       proxy has not yet ACKed (a proxy that rejects its first assignments would be sent them in a
 *       loop), or, after clusters changed, with every assignment that differs from those ACKed. The
 *       watch is made only when the proxy's snapshot next changes.
 * </ul>
 */
final class NackAwareWatcher implements ConfigWatcher {

  private final MeshCache cache;

  NackAwareWatcher(MeshCache cache) {
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
    if (request.hasErrorDetail()) {
      return deferred(
          request,
          requesterVersion,
          Map.copyOf(resourceVersions),
          Set.copyOf(pendingResources),
          isWildcard,
          responseConsumer,
          hasClusterChanged);
    }
    return cache.createDeltaWatch(
        request,
        requesterVersion,
        resourceVersions,
        pendingResources,
        isWildcard,
        responseConsumer,
        hasClusterChanged);
  }

  /**
   * A watch that becomes java-control-plane's when the node's snapshot next changes; cancelling it
   * (the stream ends, or the proxy sends its next request) cancels that one too.
   */
  private DeltaWatch deferred(
      DeltaXdsRequest request,
      String requesterVersion,
      Map<String, String> resourceVersions,
      Set<String> pendingResources,
      boolean isWildcard,
      Consumer<DeltaResponse> responseConsumer,
      boolean hasClusterChanged) {
    DeltaWatch[] real = new DeltaWatch[1];
    DeltaWatch placeholder =
        new DeltaWatch(
            request,
            resourceVersions,
            pendingResources,
            requesterVersion,
            isWildcard,
            responseConsumer);
    String node = request.v3Request().getNode().getId();
    Runnable release =
        () -> {
          synchronized (real) {
            if (!placeholder.isCancelled()) {
              real[0] =
                  cache.createDeltaWatch(
                      request,
                      requesterVersion,
                      resourceVersions,
                      pendingResources,
                      isWildcard,
                      responseConsumer,
                      hasClusterChanged);
            }
          }
        };
    placeholder.setStop(
        () -> {
          // The stream ended or asked again: nothing waits for the next snapshot any more.
          cache.forgetNextSnapshot(node, release);
          synchronized (real) {
            if (real[0] != null) {
              real[0].cancel();
            }
          }
        });
    cache.onNextSnapshot(node, release);
    return placeholder;
  }
}
