package io.qmesh.pilot.model;

import io.fabric8.istio.api.api.networking.v1alpha3.ServiceEntryLocation;
import io.fabric8.istio.api.api.networking.v1alpha3.ServiceEntryResolution;
import io.fabric8.istio.api.networking.v1.DestinationRule;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.fabric8.istio.api.networking.v1.ServiceEntry;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.fabric8.istio.api.networking.v1.WorkloadEntry;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.qmesh.api.MeshNames;
import io.qmesh.api.config.ConfigObject;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds a {@link MeshSnapshot} from stored config objects and self-registered workloads. */
public final class SnapshotBuilder {

  private SnapshotBuilder() {}

  /** {@link #build(long, Collection, Collection, MeshConfig)} with Istio's default mesh config. */
  public static MeshSnapshot build(
      long version,
      Collection<ConfigObject<HasMetadata>> objects,
      Collection<Workload> registered) {
    return build(version, objects, registered, MeshConfig.DEFAULT);
  }

  public static MeshSnapshot build(
      long version,
      Collection<ConfigObject<HasMetadata>> objects,
      Collection<Workload> registered,
      MeshConfig meshConfig) {
    List<MeshService> services = new ArrayList<>();
    List<Workload> workloads = new ArrayList<>(registered);
    List<Named<io.fabric8.istio.api.api.networking.v1alpha3.VirtualService>> vs = new ArrayList<>();
    List<Named<io.fabric8.istio.api.api.networking.v1alpha3.DestinationRule>> dr =
        new ArrayList<>();
    List<Named<io.fabric8.istio.api.api.networking.v1alpha3.Gateway>> gw = new ArrayList<>();
    List<Named<io.fabric8.istio.api.api.telemetry.v1alpha1.Telemetry>> telemetry =
        new ArrayList<>();
    List<Named<io.fabric8.istio.api.api.security.v1beta1.PeerAuthentication>> pa =
        new ArrayList<>();
    List<Named<io.fabric8.istio.api.api.networking.v1alpha3.Sidecar>> sidecars = new ArrayList<>();
    for (ConfigObject<HasMetadata> o : objects) {
      HasMetadata m = o.object();
      String ns = o.key().namespace();
      String name = o.key().name();
      long created = created(m);
      switch (o.key().kind()) {
        case SERVICE -> services.add(fromService((Service) m));
        case SERVICE_ENTRY -> services.addAll(fromServiceEntry((ServiceEntry) m, ns));
        case WORKLOAD_ENTRY -> workloads.add(fromWorkloadEntry((WorkloadEntry) m, ns, name));
        case VIRTUAL_SERVICE ->
            vs.add(new Named<>(ns, name, created, ((VirtualService) m).getSpec()));
        case DESTINATION_RULE ->
            dr.add(new Named<>(ns, name, created, ((DestinationRule) m).getSpec()));
        case GATEWAY -> gw.add(new Named<>(ns, name, created, ((Gateway) m).getSpec()));
        case TELEMETRY ->
            telemetry.add(
                new Named<>(
                    ns,
                    name,
                    created,
                    ((io.fabric8.istio.api.telemetry.v1.Telemetry) m).getSpec()));
        case PEER_AUTHENTICATION -> pa.add(new Named<>(ns, name, created, peerAuthentication(m)));
        case SIDECAR ->
            sidecars.add(
                new Named<>(
                    ns, name, created, ((io.fabric8.istio.api.networking.v1.Sidecar) m).getSpec()));
        default -> {
          // RequestAuthentication and AuthorizationPolicy are translated by their own issue's code.
        }
      }
    }
    return new MeshSnapshot(
        version, services, workloads, vs, dr, gw, telemetry, meshConfig, pa, sidecars, null);
  }

  private static io.fabric8.istio.api.api.security.v1beta1.PeerAuthentication peerAuthentication(
      HasMetadata m) {
    if (m instanceof io.fabric8.istio.api.security.v1.PeerAuthentication v1) {
      return v1.getSpec();
    }
    return ((io.fabric8.istio.api.security.v1beta1.PeerAuthentication) m).getSpec();
  }

  private static long created(HasMetadata m) {
    String created = m.getMetadata().getCreationTimestamp();
    try {
      return created == null ? 0 : java.time.Instant.parse(created).toEpochMilli();
    } catch (java.time.format.DateTimeParseException e) {
      return 0;
    }
  }

  static MeshService fromService(Service s) {
    String ns = s.getMetadata().getNamespace();
    String name = s.getMetadata().getName();
    List<ServicePort> ports = new ArrayList<>();
    for (var p : s.getSpec().getPorts()) {
      IntOrString target = p.getTargetPort();
      int targetPort = p.getPort();
      String targetName = null;
      if (target != null && target.getIntVal() != null) {
        targetPort = target.getIntVal();
      } else if (target != null && target.getStrVal() != null) {
        targetName = target.getStrVal();
      }
      ports.add(
          new ServicePort(
              p.getName() == null ? "" : p.getName(),
              p.getPort(),
              Protocol.of(p.getName(), p.getAppProtocol()),
              targetPort,
              targetName));
    }
    Map<String, String> annotations = s.getMetadata().getAnnotations();
    String exportTo = annotations == null ? null : annotations.get("networking.istio.io/exportTo");
    return new MeshService(
        MeshNames.serviceFqdn(name, ns),
        ns,
        name,
        List.copyOf(ports),
        s.getSpec().getSelector() == null ? Map.of() : Map.copyOf(s.getSpec().getSelector()),
        false,
        MeshService.Resolution.STATIC,
        List.of(),
        exportTo == null ? List.of() : List.of(exportTo.split("\\s*,\\s*")));
  }

  static List<MeshService> fromServiceEntry(ServiceEntry se, String ns) {
    var spec = se.getSpec();
    List<ServicePort> ports = new ArrayList<>();
    for (var p : spec.getPorts()) {
      int number = p.getNumber().intValue();
      int target =
          p.getTargetPort() == null || p.getTargetPort() == 0
              ? number
              : p.getTargetPort().intValue();
      ports.add(
          new ServicePort(
              p.getName(),
              number,
              Protocol.parse(p.getProtocol() == null ? "" : p.getProtocol()),
              target,
              null));
    }
    List<Workload> endpoints = new ArrayList<>();
    for (var e : spec.getEndpoints()) {
      endpoints.add(
          new Workload(
              se.getMetadata().getName(),
              ns,
              e.getLabels() == null ? Map.of() : Map.copyOf(e.getLabels()),
              e.getAddress(),
              ports(e.getPorts()),
              e.getServiceAccount() == null ? "default" : e.getServiceAccount(),
              Workload.Source.SERVICE_ENTRY));
    }
    boolean external = spec.getLocation() != ServiceEntryLocation.MESH_INTERNAL;
    MeshService.Resolution resolution =
        spec.getResolution() == ServiceEntryResolution.DNS
                || spec.getResolution() == ServiceEntryResolution.DNS_ROUND_ROBIN
            ? MeshService.Resolution.DNS
            : spec.getResolution() == ServiceEntryResolution.STATIC
                ? MeshService.Resolution.STATIC
                : MeshService.Resolution.NONE;
    Map<String, String> selector =
        spec.getWorkloadSelector() == null
            ? null
            : Map.copyOf(spec.getWorkloadSelector().getLabels());
    List<MeshService> out = new ArrayList<>();
    for (String host : spec.getHosts()) {
      out.add(
          new MeshService(
              host,
              ns,
              null,
              List.copyOf(ports),
              selector,
              external,
              resolution,
              List.copyOf(endpoints),
              List.copyOf(spec.getExportTo())));
    }
    return out;
  }

  static Workload fromWorkloadEntry(WorkloadEntry we, String ns, String name) {
    var spec = we.getSpec();
    return new Workload(
        name,
        ns,
        spec.getLabels() == null ? Map.of() : Map.copyOf(spec.getLabels()),
        spec.getAddress(),
        ports(spec.getPorts()),
        spec.getServiceAccount() == null || spec.getServiceAccount().isEmpty()
            ? "default"
            : spec.getServiceAccount(),
        Workload.Source.WORKLOAD_ENTRY);
  }

  private static Map<String, Integer> ports(Map<String, ? extends Number> ports) {
    Map<String, Integer> out = new LinkedHashMap<>();
    if (ports != null) {
      ports.forEach((k, v) -> out.put(k, v.intValue()));
    }
    return Map.copyOf(out);
  }
}
