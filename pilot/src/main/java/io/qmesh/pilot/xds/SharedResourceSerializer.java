package io.qmesh.pilot.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.serializer.DefaultProtoResourcesSerializer;
import java.util.concurrent.ExecutionException;

/**
 * Packs each resource into an {@code Any} once, however many proxies receive it. Keys are weak and
 * compared by identity: pushes share resource instances between proxies, and an equality-keyed
 * cache (java-control-plane's own) would deep-compare every resource with last push's equal copy.
 */
final class SharedResourceSerializer extends DefaultProtoResourcesSerializer {

  private final Cache<Message, Any> packed = CacheBuilder.newBuilder().weakKeys().build();

  @Override
  public Any serialize(Message resource, Resources.ApiVersion apiVersion) {
    try {
      return packed.get(resource, () -> super.serialize(resource, apiVersion));
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "cannot pack " + resource.getDescriptorForType().getFullName(), e.getCause());
    }
  }
}
