package io.qmesh.pilot.model;

import io.fabric8.istio.api.api.networking.v1alpha3.IstioEgressListener;
import io.fabric8.istio.api.api.networking.v1alpha3.OutboundTrafficPolicyMode;
import io.fabric8.istio.api.api.networking.v1alpha3.Sidecar;
import java.util.List;
import java.util.Map;

/**
 * What a sidecar imports of the mesh, as Istio's {@code Sidecar} resource scopes it: the services
 * its egress listeners' {@code hosts} name ({@code namespace/dnsName}), per port, and whether
 * traffic to anything else passes through ({@code ALLOW_ANY}) or is refused ({@code
 * REGISTRY_ONLY}). {@link #ALL} when no Sidecar applies: the whole mesh, passthrough.
 */
public final class SidecarScope {

  /** No Sidecar applies: every service the proxy may see, unknown destinations passed through. */
  public static final SidecarScope ALL = new SidecarScope(null, null);

  private final Named<Sidecar> sidecar;

  /** The proxy's namespace: what {@code .} names in hosts, the root namespace's default's too. */
  private final String namespace;

  private SidecarScope(Named<Sidecar> sidecar, String namespace) {
    this.sidecar = sidecar;
    this.namespace = namespace;
  }

  /**
   * The Sidecar that applies to a sidecar proxy, chosen as Istio chooses it: in the proxy's
   * namespace the oldest whose {@code workloadSelector} the proxy's labels satisfy, else the oldest
   * there without a selector, else the oldest without a selector in the root namespace. {@code
   * sidecars} is sorted oldest first.
   */
  static SidecarScope of(
      List<Named<Sidecar>> sidecars,
      String rootNamespace,
      String namespace,
      Map<String, String> labels) {
    Named<Sidecar> namespaceWide = null;
    Named<Sidecar> meshWide = null;
    for (Named<Sidecar> s : sidecars) {
      var selector = s.spec().getWorkloadSelector();
      boolean selects = selector != null && !selector.getLabels().isEmpty();
      if (s.namespace().equals(namespace)) {
        if (selects && labels.entrySet().containsAll(selector.getLabels().entrySet())) {
          return new SidecarScope(s, namespace);
        }
        if (!selects && namespaceWide == null) {
          namespaceWide = s;
        }
      } else if (!selects && s.namespace().equals(rootNamespace) && meshWide == null) {
        meshWide = s;
      }
    }
    Named<Sidecar> chosen = namespaceWide != null ? namespaceWide : meshWide;
    return chosen == null ? ALL : new SidecarScope(chosen, namespace);
  }

  /** The Sidecar's {@code namespace/name}, or empty: proxies with equal keys import the same. */
  public String key() {
    return sidecar == null ? "" : sidecar.namespace() + "/" + sidecar.name();
  }

  /**
   * Whether the proxy imports {@code service} on {@code port}: the egress listener for that port
   * number decides, else the one without a port; none of either imports nothing on the port. A
   * Sidecar without egress listeners imports everything.
   */
  public boolean imports(MeshService service, int port) {
    if (sidecar == null || sidecar.spec().getEgress().isEmpty()) {
      return true;
    }
    IstioEgressListener forPort = null;
    IstioEgressListener catchAll = null;
    for (IstioEgressListener l : sidecar.spec().getEgress()) {
      if (l.getPort() == null || l.getPort().getNumber() == null) {
        if (catchAll == null) {
          catchAll = l;
        }
      } else if (l.getPort().getNumber() == port && forPort == null) {
        forPort = l;
      }
    }
    IstioEgressListener l = forPort != null ? forPort : catchAll;
    return l != null && admits(l.getHosts(), service.namespace(), service.hostname());
  }

  /** Whether unknown destinations are refused (Istio's {@code REGISTRY_ONLY}). */
  public boolean registryOnly() {
    return sidecar != null
        && sidecar.spec().getOutboundTrafficPolicy() != null
        && sidecar.spec().getOutboundTrafficPolicy().getMode()
            == OutboundTrafficPolicyMode.REGISTRY_ONLY;
  }

  /**
   * Whether {@code namespace/dnsName} entries admit a host of a namespace: the namespace {@code *}
   * (any), {@code .} (the proxy's, as Istio reads it in the root namespace's default too), {@code
   * ~} (none) or a name; the host {@code *}, {@code *.suffix} or a FQDN.
   */
  private boolean admits(List<String> hosts, String serviceNamespace, String hostname) {
    for (String h : hosts) {
      int slash = h.indexOf('/');
      if (slash < 0) {
        continue; // rejected at apply time
      }
      String ns = h.substring(0, slash);
      String dns = h.substring(slash + 1);
      boolean nsMatches =
          ns.equals("*")
              || (ns.equals(".") && serviceNamespace.equals(namespace))
              || ns.equals(serviceNamespace);
      if (nsMatches && MeshSnapshot.hostMatches(dns, hostname)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return sidecar == null ? "whole mesh" : "Sidecar " + key();
  }
}
