package io.qmesh.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The four resource types, in the order Envoy asks for them, with how to read and store each. */
enum XdsType {
  CDS("type.googleapis.com/envoy.config.cluster.v3.Cluster", true),
  EDS("type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", false),
  LDS("type.googleapis.com/envoy.config.listener.v3.Listener", true),
  RDS("type.googleapis.com/envoy.config.route.v3.RouteConfiguration", false);

  final String url;

  /** Wildcard types are asked for whole; the others by the names other resources reference. */
  final boolean wildcard;

  XdsType(String url, boolean wildcard) {
    this.url = url;
    this.wildcard = wildcard;
  }

  static XdsType of(String url) {
    for (XdsType t : values()) {
      if (t.url.equals(url)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown type " + url);
  }

  /** The resources of a response, by name. */
  Map<String, ?> decode(List<Any> resources) throws InvalidProtocolBufferException {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Any a : resources) {
      switch (this) {
        case CDS -> {
          Cluster c = TypedConfigs.unpack(a, Cluster.getDescriptor(), Cluster.parser());
          out.put(c.getName(), c);
        }
        case EDS -> {
          ClusterLoadAssignment c =
              TypedConfigs.unpack(
                  a, ClusterLoadAssignment.getDescriptor(), ClusterLoadAssignment.parser());
          out.put(c.getClusterName(), c);
        }
        case LDS -> {
          Listener l = TypedConfigs.unpack(a, Listener.getDescriptor(), Listener.parser());
          out.put(l.getName(), l);
        }
        case RDS -> {
          RouteConfiguration r =
              TypedConfigs.unpack(
                  a, RouteConfiguration.getDescriptor(), RouteConfiguration.parser());
          out.put(r.getName(), r);
        }
      }
    }
    return out;
  }

  /** What the proxy holds of this type. */
  Map<String, ?> of(XdsResources r) {
    return switch (this) {
      case CDS -> r.clusters();
      case EDS -> r.endpoints();
      case LDS -> r.listeners();
      case RDS -> r.routes();
    };
  }

  @SuppressWarnings("unchecked")
  XdsResources replace(XdsResources r, Map<String, ?> resources) {
    return switch (this) {
      case CDS ->
          new XdsResources(
              r.listeners(), r.routes(), (Map<String, Cluster>) resources, r.endpoints());
      case EDS ->
          new XdsResources(
              r.listeners(),
              r.routes(),
              r.clusters(),
              (Map<String, ClusterLoadAssignment>) resources);
      case LDS ->
          new XdsResources(
              (Map<String, Listener>) resources, r.routes(), r.clusters(), r.endpoints());
      case RDS ->
          new XdsResources(
              r.listeners(),
              (Map<String, RouteConfiguration>) resources,
              r.clusters(),
              r.endpoints());
    };
  }
}
