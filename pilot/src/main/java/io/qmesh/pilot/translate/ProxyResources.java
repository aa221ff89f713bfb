package io.qmesh.pilot.translate;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

/** The Envoy resources one proxy receives, each list sorted by name. */
public record ProxyResources(
    List<Listener> listeners,
    List<RouteConfiguration> routes,
    List<Cluster> clusters,
    List<ClusterLoadAssignment> endpoints) {

  public ProxyResources {
    listeners = listeners.stream().sorted(Comparator.comparing(Listener::getName)).toList();
    routes = routes.stream().sorted(Comparator.comparing(RouteConfiguration::getName)).toList();
    clusters = clusters.stream().sorted(Comparator.comparing(Cluster::getName)).toList();
    endpoints =
        endpoints.stream()
            .sorted(Comparator.comparing(ClusterLoadAssignment::getClusterName))
            .toList();
  }

  /** These resources and another proxy part's, together. */
  public ProxyResources plus(ProxyResources other) {
    return new ProxyResources(
        concat(listeners, other.listeners),
        concat(routes, other.routes),
        concat(clusters, other.clusters),
        concat(endpoints, other.endpoints));
  }

  private static <T> List<T> concat(List<T> a, List<T> b) {
    List<T> out = new java.util.ArrayList<>(a.size() + b.size());
    out.addAll(a);
    out.addAll(b);
    return out;
  }

  /** A digest of resources. */
  public static String version(List<? extends Message> resources) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      out.useDeterministicSerialization();
      for (Message m : resources) {
        m.writeTo(out);
      }
      out.flush();
      return HexFormat.of().formatHex(sha.digest(bytes.toByteArray()), 0, 8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
