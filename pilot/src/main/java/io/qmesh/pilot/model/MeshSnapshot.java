package io.qmesh.pilot.model;

import io.fabric8.istio.api.api.networking.v1alpha3.DestinationRule;
import io.fabric8.istio.api.api.networking.v1alpha3.Gateway;
import io.fabric8.istio.api.api.networking.v1alpha3.Sidecar;
import io.fabric8.istio.api.api.networking.v1alpha3.VirtualService;
import io.fabric8.istio.api.api.security.v1beta1.PeerAuthentication;
import io.fabric8.istio.api.api.telemetry.v1alpha1.Telemetry;
import io.qmesh.api.MeshNames;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Everything translation needs, immutable and resolved: the services with their endpoints, and the
 * routing config. A new one is built on every change; readers never see a half-applied state.
 */
public record MeshSnapshot(
    long version,
    List<MeshService> services,
    List<Workload> workloads,
    List<Named<VirtualService>> virtualServices,
    List<Named<DestinationRule>> destinationRules,
    List<Named<Gateway>> gateways,
    List<Named<Telemetry>> telemetries,
    MeshConfig meshConfig,
    List<Named<PeerAuthentication>> peerAuthentications,
    List<Named<Sidecar>> sidecars,
    MeshIndex index) {

  /** A snapshot with no Telemetry and the default mesh config. */
  public MeshSnapshot(
      long version,
      List<MeshService> services,
      List<Workload> workloads,
      List<Named<VirtualService>> virtualServices,
      List<Named<DestinationRule>> destinationRules,
      List<Named<Gateway>> gateways) {
    this(
        version,
        services,
        workloads,
        virtualServices,
        destinationRules,
        gateways,
        List.of(),
        MeshConfig.DEFAULT);
  }

  /** A snapshot; the index is built here from the services and workloads. */
  public MeshSnapshot(
      long version,
      List<MeshService> services,
      List<Workload> workloads,
      List<Named<VirtualService>> virtualServices,
      List<Named<DestinationRule>> destinationRules,
      List<Named<Gateway>> gateways,
      List<Named<Telemetry>> telemetries,
      MeshConfig meshConfig) {
    this(
        version,
        services,
        workloads,
        virtualServices,
        destinationRules,
        gateways,
        telemetries,
        meshConfig,
        List.of(),
        List.of(),
        null);
  }

  public MeshSnapshot {
    services = services.stream().sorted(Comparator.comparing(MeshService::hostname)).toList();
    workloads = List.copyOf(workloads);
    Comparator<Named<?>> order =
        Comparator.<Named<?>>comparingLong(Named::created)
            .thenComparing(Named::namespace)
            .thenComparing(Named::name);
    virtualServices = virtualServices.stream().sorted(order).toList();
    destinationRules = destinationRules.stream().sorted(order).toList();
    gateways = gateways.stream().sorted(order).toList();
    telemetries = telemetries.stream().sorted(order).toList();
    peerAuthentications = peerAuthentications.stream().sorted(order).toList();
    sidecars = sidecars.stream().sorted(order).toList();
    index = new MeshIndex(services, workloads, virtualServices);
  }

  /** An empty mesh. */
  public static MeshSnapshot empty() {
    return new MeshSnapshot(0, List.of(), List.of(), List.of(), List.of(), List.of());
  }

  /**
   * Whether any VirtualService route matches on the caller's labels, so labels shape outbound
   * config.
   */
  public boolean usesSourceLabels() {
    return index.usesSourceLabels();
  }

  /** The service with this hostname. */
  public Optional<MeshService> service(String hostname) {
    return Optional.ofNullable(index.service(hostname));
  }

  /** Istio host matching: exact, or a wildcard pattern ({@code *}, {@code *.example.com}). */
  public static boolean hostMatches(String pattern, String host) {
    if (pattern.equals(host) || pattern.equals("*")) {
      return true;
    }
    return pattern.startsWith("*.") && host.endsWith(pattern.substring(1));
  }

  /**
   * Resolves a host as written in config in {@code namespace}: a short name ({@code reviews}) is
   * {@code reviews.<namespace>.svc.cluster.local}; a name with dots is taken as written.
   */
  public static String resolveHost(String host, String namespace) {
    if (host.contains(".") || host.startsWith("*")) {
      return host;
    }
    return MeshNames.serviceFqdn(host, namespace);
  }

  /** The endpoints of a service port. */
  public List<Endpoint> endpoints(MeshService service, ServicePort port) {
    List<Endpoint> out = new ArrayList<>();
    for (Workload w : service.staticEndpoints()) {
      out.add(Endpoint.of(w, w.portFor(port)));
    }
    // As in Kubernetes, a Service without a selector gets no endpoints of its own.
    if (service.selector() != null && !service.selector().isEmpty()) {
      for (Workload w : index.selected(service.namespace(), service.selector())) {
        out.add(Endpoint.of(w, w.portFor(port)));
      }
    }
    out.sort(Comparator.comparing(Endpoint::address).thenComparingInt(Endpoint::port));
    return out;
  }

  /**
   * The DestinationRule for a host as a proxy in {@code proxyNamespace} sees it: Istio looks in the
   * proxy's namespace, then the service's, then the root namespace.
   */
  public Optional<Named<DestinationRule>> destinationRule(
      String hostname, String proxyNamespace, String serviceNamespace) {
    for (String ns : List.of(proxyNamespace, serviceNamespace, MeshNames.ROOT_NAMESPACE)) {
      for (Named<DestinationRule> dr : destinationRules) {
        if (dr.namespace().equals(ns)
            && resolveHost(dr.spec().getHost(), dr.namespace()).equals(hostname)) {
          return Optional.of(dr);
        }
      }
    }
    return Optional.empty();
  }

  /**
   * What a proxy imports of the mesh: for a sidecar (proxyless ones included) the Sidecar resource
   * that applies to it, if any; gateways see the whole mesh.
   */
  public SidecarScope sidecarScope(ProxyNode proxy) {
    if (proxy.type() != ProxyNode.Type.SIDECAR || sidecars.isEmpty()) {
      return SidecarScope.ALL;
    }
    return SidecarScope.of(sidecars, MeshNames.ROOT_NAMESPACE, proxy.namespace(), proxy.labels());
  }

  /** The services whose selectors a proxy's workload satisfies (sorted by hostname). */
  public List<MeshService> servicesOf(ProxyNode proxy) {
    return index.selecting(proxy.namespace(), proxy.labels()).stream()
        .sorted(Comparator.comparing(MeshService::hostname))
        .toList();
  }
}
