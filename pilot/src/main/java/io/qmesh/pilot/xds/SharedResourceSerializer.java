package io.qmesh.pilot.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.serializer.DefaultProtoResourcesSerializer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * Packs each resource into an {@code Any} once, however many proxies receive it. Keys are weak and
 * compared by identity: pushes share resource instances between proxies, and an equality-keyed
 * cache (java-control-plane's own) would deep-compare every resource with last push's equal copy.
 *
 * <p>A push sends the same resources to every proxy (1000 assignments each, for 2000 proxies, on an
 * endpoint change), so each sending thread also keeps the {@code Any}s it used last in a small
 * table of its own, by identity, in front of the shared cache: two million lookups per push are
 * then an array read each. Each {@code Any} holds its type URL as bytes, so that framing it for
 * each proxy copies the bytes instead of encoding the string again.
 */
final class SharedResourceSerializer extends DefaultProtoResourcesSerializer {

  private static final int SLOTS = 4096;

  private final Cache<Message, Any> packed = CacheBuilder.newBuilder().weakKeys().build();

  /** A sending thread's recent resources and their packed forms, direct-mapped by identity. */
  private static final class Recent {
    final Message[] resources = new Message[SLOTS];
    final Any[] anys = new Any[SLOTS];
  }

  private final ThreadLocal<Recent> recent = ThreadLocal.withInitial(Recent::new);

  @Override
  public Collection<Any> serialize(
      Collection<? extends Message> resources, Resources.ApiVersion apiVersion) {
    Recent r = recent.get();
    List<Any> out = new ArrayList<>(resources.size());
    for (Message m : resources) {
      int i = System.identityHashCode(m) & (SLOTS - 1);
      Any a;
      if (r.resources[i] == m) {
        a = r.anys[i];
      } else {
        a = serialize(m, apiVersion);
        r.resources[i] = m;
        r.anys[i] = a;
      }
      out.add(a);
    }
    return out;
  }

  @Override
  public Any serialize(Message resource, Resources.ApiVersion apiVersion) {
    try {
      return packed.get(
          resource,
          () -> {
            Any any = super.serialize(resource, apiVersion);
            // Keeps the type URL as UTF-8 bytes in the message: written as they are from now on.
            any.getTypeUrlBytes();
            return any;
          });
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "cannot pack " + resource.getDescriptorForType().getFullName(), e.getCause());
    }
  }
}
