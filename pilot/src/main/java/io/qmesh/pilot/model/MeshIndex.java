package io.qmesh.pilot.model;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Lookups a snapshot answers many times per push, precomputed once: services by host, workloads by
 * namespace and label, services by namespace and the labels their selectors name, and whether any
 * route matches on source labels. They keep endpoint and inbound resolution, and the per-proxy
 * shape, from scanning every workload, service or route.
 */
final class MeshIndex {

  private final Map<String, MeshService> byHost = new HashMap<>();
  private final Map<String, List<Workload>> workloadsByLabel = new HashMap<>();
  private final Map<String, List<MeshService>> servicesBySelectorLabel = new HashMap<>();

  private final boolean usesSourceLabels;

  MeshIndex(
      List<MeshService> services,
      List<Workload> workloads,
      List<Named<io.fabric8.istio.api.api.networking.v1alpha3.VirtualService>> virtualServices) {
    usesSourceLabels =
        virtualServices.stream()
            .flatMap(vs -> vs.spec().getHttp().stream())
            .flatMap(r -> r.getMatch().stream())
            .anyMatch(m -> !m.getSourceLabels().isEmpty());
    for (MeshService s : services) {
      byHost.putIfAbsent(s.hostname(), s);
      if (s.selector() != null) {
        s.selector()
            .forEach(
                (k, v) ->
                    servicesBySelectorLabel
                        .computeIfAbsent(key(s.namespace(), k, v), x -> new ArrayList<>())
                        .add(s));
      }
    }
    for (Workload w : workloads) {
      w.labels()
          .forEach(
              (k, v) ->
                  workloadsByLabel
                      .computeIfAbsent(key(w.namespace(), k, v), x -> new ArrayList<>())
                      .add(w));
    }
  }

  boolean usesSourceLabels() {
    return usesSourceLabels;
  }

  MeshService service(String hostname) {
    return byHost.get(hostname);
  }

  /** Workloads in {@code namespace} carrying every label of a non-empty selector. */
  List<Workload> selected(String namespace, Map<String, String> selector) {
    List<Workload> smallest = null;
    for (var e : selector.entrySet()) {
      List<Workload> candidates =
          workloadsByLabel.getOrDefault(key(namespace, e.getKey(), e.getValue()), List.of());
      if (smallest == null || candidates.size() < smallest.size()) {
        smallest = candidates;
      }
    }
    return smallest == null
        ? List.of()
        : smallest.stream().filter(w -> w.matches(selector)).toList();
  }

  /** Services in {@code namespace} whose non-empty selector the labels satisfy. */
  Collection<MeshService> selecting(String namespace, Map<String, String> labels) {
    Set<MeshService> out = new LinkedHashSet<>();
    labels.forEach(
        (k, v) -> {
          for (MeshService s :
              servicesBySelectorLabel.getOrDefault(key(namespace, k, v), List.of())) {
            if (labels.entrySet().containsAll(s.selector().entrySet())) {
              out.add(s);
            }
          }
        });
    return out;
  }

  private static String key(String namespace, String label, String value) {
    return namespace + "\u0000" + label + "=" + value;
  }
}
