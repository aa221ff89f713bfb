package io.qmesh.api;

/** Names, ports and conventions of the mesh, as Istio uses them (see the brief's contract). */
public final class MeshNames {

  private MeshNames() {}

  /** The mesh's root namespace: mesh-wide policies live here. */
  public static final String ROOT_NAMESPACE = "istio-system";

  /** The DNS suffix of services: {@code <name>.<namespace>.svc.cluster.local}. */
  public static final String DOMAIN_SUFFIX = "svc.cluster.local";

  /** The trust domain of SPIFFE identities. */
  public static final String TRUST_DOMAIN = "cluster.local";

  /** Cluster id reported by proxies when none is given. */
  public static final String DEFAULT_CLUSTER_ID = "Kubernetes";

  public static final int PORT_OUTBOUND = 15001;
  public static final int PORT_INBOUND = 15006;
  public static final int PORT_ADMIN = 15000;
  public static final int PORT_MERGED_STATS = 15020;
  public static final int PORT_HEALTH = 15021;
  public static final int PORT_PROXY_STATS = 15090;
  public static final int PILOT_XDS = 15010;
  public static final int PILOT_XDS_TLS = 15012;
  public static final int PILOT_HTTP = 15014;
  public static final int PILOT_WEBHOOK = 15017;

  public static final String PASSTHROUGH_CLUSTER = "PassthroughCluster";
  public static final String BLACKHOLE_CLUSTER = "BlackHoleCluster";
  public static final String VIRTUAL_OUTBOUND = "virtualOutbound";
  public static final String VIRTUAL_INBOUND = "virtualInbound";

  /** {@code <name>.<namespace>.svc.cluster.local}. */
  public static String serviceFqdn(String name, String namespace) {
    return name + "." + namespace + "." + DOMAIN_SUFFIX;
  }

  /** Istio's outbound cluster name: {@code outbound|9080|v1|reviews.default.svc.cluster.local}. */
  public static String outboundCluster(int port, String subset, String host) {
    return "outbound|" + port + "|" + (subset == null ? "" : subset) + "|" + host;
  }

  /** Istio's inbound cluster name: {@code inbound|9080||}. */
  public static String inboundCluster(int port) {
    return "inbound|" + port + "||";
  }

  /** The SPIFFE identity of a service account: {@code spiffe://cluster.local/ns/<ns>/sa/<sa>}. */
  public static String spiffeId(String namespace, String serviceAccount) {
    return "spiffe://" + TRUST_DOMAIN + "/ns/" + namespace + "/sa/" + serviceAccount;
  }
}
