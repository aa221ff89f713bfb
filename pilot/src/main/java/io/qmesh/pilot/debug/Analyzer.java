package io.qmesh.pilot.debug;

import io.fabric8.istio.api.api.networking.v1alpha3.DestinationRule;
import io.fabric8.istio.api.api.networking.v1alpha3.Subset;
import io.fabric8.istio.api.api.networking.v1alpha3.VirtualService;
import io.qmesh.pilot.ingest.Finding;
import io.qmesh.pilot.ingest.Validator;
import io.qmesh.pilot.model.MeshService;
import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.Named;
import io.qmesh.pilot.model.Workload;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What {@code istioctl analyze} would warn about in the running mesh (config and the workloads
 * registered now), for {@code qmesh analyze}: DestinationRule subsets that select no workload,
 * VirtualService routes to subsets no DestinationRule defines, and routes whose fault and retries
 * or timeout and per-try timeout work against each other.
 */
public final class Analyzer {

  private Analyzer() {}

  public static List<Finding> analyze(MeshSnapshot mesh) {
    List<Finding> out = new ArrayList<>();
    Map<String, Set<String>> subsets = new HashMap<>();
    for (Named<DestinationRule> dr : mesh.destinationRules()) {
      String host = MeshSnapshot.resolveHost(dr.spec().getHost(), dr.namespace());
      Set<String> names = subsets.computeIfAbsent(host, h -> new HashSet<>());
      MeshService service = mesh.service(host).orElse(null);
      for (int i = 0; i < dr.spec().getSubsets().size(); i++) {
        Subset subset = dr.spec().getSubsets().get(i);
        names.add(subset.getName());
        if (service != null && !selectsAny(mesh, service, subset.getLabels())) {
          out.add(
              new Finding(
                  Finding.Severity.WARNING,
                  "DestinationRule " + dr.ref(),
                  "spec.subsets[" + i + "]",
                  "subset '"
                      + subset.getName()
                      + "' of "
                      + host
                      + " selects no workload (labels "
                      + subset.getLabels()
                      + ")"));
        }
      }
    }
    for (Named<VirtualService> vs : mesh.virtualServices()) {
      String object = "VirtualService " + vs.ref();
      var http = vs.spec().getHttp();
      for (int i = 0; i < http.size(); i++) {
        for (int d = 0; d < http.get(i).getRoute().size(); d++) {
          var dest = http.get(i).getRoute().get(d).getDestination();
          if (dest == null || dest.getSubset() == null || dest.getSubset().isEmpty()) {
            continue;
          }
          String host = MeshSnapshot.resolveHost(dest.getHost(), vs.namespace());
          if (!subsets.getOrDefault(host, Set.of()).contains(dest.getSubset())) {
            out.add(
                new Finding(
                    Finding.Severity.WARNING,
                    object,
                    "spec.http[" + i + "].route[" + d + "].destination.subset",
                    "subset '"
                        + dest.getSubset()
                        + "' of host "
                        + host
                        + " is not defined by any DestinationRule"));
          }
        }
      }
      out.addAll(Validator.routeCombinations(vs.spec(), object));
    }
    return out;
  }

  private static boolean selectsAny(
      MeshSnapshot mesh, MeshService service, Map<String, String> labels) {
    Map<String, String> wanted = labels == null ? Map.of() : labels;
    if (!service.staticEndpoints().isEmpty()) {
      return service.staticEndpoints().stream().anyMatch(w -> w.matches(wanted));
    }
    for (Workload w : mesh.workloads()) {
      if (w.namespace().equals(service.namespace())
          && service.selector() != null
          && !service.selector().isEmpty()
          && w.matches(service.selector())
          && w.matches(wanted)) {
        return true;
      }
    }
    return false;
  }
}
