package io.qmesh.pilot.model;

import io.qmesh.api.MeshNames;
import java.util.Map;

/**
 * One address serving one service port, with the workload's labels (for subsets) and identity.
 *
 * @param identity the workload's SPIFFE id, or null when it has no service account
 */
public record Endpoint(
    String address,
    int port,
    Map<String, String> labels,
    String workload,
    String identity,
    String namespace) {

  /** The label a mesh workload (one with a sidecar) carries, as Istio's injector sets it. */
  public static final String TLS_MODE_LABEL = "security.istio.io/tlsMode";

  public Endpoint(String address, int port, Map<String, String> labels, String workload) {
    this(address, port, labels, workload, null, null);
  }

  static Endpoint of(Workload w, int port) {
    String sa = w.serviceAccount();
    return new Endpoint(
        w.address(),
        port,
        w.labels(),
        w.name(),
        sa == null || sa.isEmpty() ? null : MeshNames.spiffeId(w.namespace(), sa),
        w.namespace());
  }

  /**
   * This endpoint as one that does not take mutual TLS (its workload's PeerAuthentication disables
   * it for the port, so auto mTLS sends plaintext, as Istio does).
   */
  public Endpoint withoutMeshTls() {
    Map<String, String> l = new java.util.HashMap<>(labels);
    l.remove(TLS_MODE_LABEL);
    return new Endpoint(address, port, Map.copyOf(l), workload, identity, namespace);
  }

  /** Whether the endpoint takes Istio's mutual TLS ({@code security.istio.io/tlsMode: istio}). */
  public boolean meshTls() {
    return "istio".equals(labels.get(TLS_MODE_LABEL));
  }
}
