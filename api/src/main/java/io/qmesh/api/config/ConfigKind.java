package io.qmesh.api.config;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The kinds of configuration the mesh accepts, with the API groups and versions each may come in. A
 * kind is one thing whatever its version: a v1alpha3 and a v1 VirtualService of the same name are
 * the same object.
 */
public enum ConfigKind {
  VIRTUAL_SERVICE("VirtualService", "networking.istio.io", List.of("v1", "v1beta1", "v1alpha3")),
  DESTINATION_RULE("DestinationRule", "networking.istio.io", List.of("v1", "v1beta1", "v1alpha3")),
  GATEWAY("Gateway", "networking.istio.io", List.of("v1", "v1beta1", "v1alpha3")),
  SERVICE_ENTRY("ServiceEntry", "networking.istio.io", List.of("v1", "v1beta1", "v1alpha3")),
  WORKLOAD_ENTRY("WorkloadEntry", "networking.istio.io", List.of("v1", "v1beta1", "v1alpha3")),
  SIDECAR("Sidecar", "networking.istio.io", List.of("v1", "v1beta1", "v1alpha3")),
  ENVOY_FILTER("EnvoyFilter", "networking.istio.io", List.of("v1alpha3")),
  PEER_AUTHENTICATION("PeerAuthentication", "security.istio.io", List.of("v1", "v1beta1")),
  REQUEST_AUTHENTICATION("RequestAuthentication", "security.istio.io", List.of("v1", "v1beta1")),
  AUTHORIZATION_POLICY("AuthorizationPolicy", "security.istio.io", List.of("v1", "v1beta1")),
  TELEMETRY("Telemetry", "telemetry.istio.io", List.of("v1", "v1alpha1")),
  SERVICE("Service", "", List.of("v1")),
  NAMESPACE("Namespace", "", List.of("v1"));

  /** kubectl's short names for Istio's CRDs and the core kinds. */
  private static final java.util.Map<String, ConfigKind> SHORT_NAMES =
      java.util.Map.of(
          "vs", VIRTUAL_SERVICE,
          "dr", DESTINATION_RULE,
          "gw", GATEWAY,
          "se", SERVICE_ENTRY,
          "we", WORKLOAD_ENTRY,
          "pa", PEER_AUTHENTICATION,
          "ra", REQUEST_AUTHENTICATION,
          "ap", AUTHORIZATION_POLICY,
          "svc", SERVICE,
          "ns", NAMESPACE);

  private final String kind;
  private final String group;
  private final List<String> versions;

  ConfigKind(String kind, String group, List<String> versions) {
    this.kind = kind;
    this.group = group;
    this.versions = versions;
  }

  /** The {@code kind:} field's value. */
  public String kindName() {
    return kind;
  }

  /** The API group; empty for Kubernetes' core group. */
  public String group() {
    return group;
  }

  /** The versions accepted, preferred first. */
  public List<String> versions() {
    return versions;
  }

  /** The {@code apiVersion:} a stored object is written with. */
  public String preferredApiVersion() {
    return group.isEmpty() ? versions.get(0) : group + "/" + versions.get(0);
  }

  /** Whether objects of this kind live in a namespace. */
  public boolean namespaced() {
    return this != NAMESPACE;
  }

  /** Finds a kind by its name, case-insensitively; also accepts plural and lower-case forms. */
  public static Optional<ConfigKind> byName(String name) {
    String n = name.toLowerCase();
    ConfigKind shortName = SHORT_NAMES.get(n);
    if (shortName != null) {
      return Optional.of(shortName);
    }
    return Arrays.stream(values())
        .filter(
            k -> {
              String kn = k.kind.toLowerCase();
              return n.equals(kn)
                  || n.equals(kn + "s")
                  || n.equals(kn.replace("y", "ies"))
                  || (kn.endsWith("y") && n.equals(kn.substring(0, kn.length() - 1) + "ies"));
            })
        .findFirst();
  }

  /** Finds the kind for an apiVersion and kind pair, if the mesh accepts it. */
  public static Optional<ConfigKind> of(String apiVersion, String kind) {
    if (apiVersion == null || kind == null) {
      return Optional.empty();
    }
    int slash = apiVersion.indexOf('/');
    String group = slash < 0 ? "" : apiVersion.substring(0, slash);
    String version = slash < 0 ? apiVersion : apiVersion.substring(slash + 1);
    return Arrays.stream(values())
        .filter(k -> k.kind.equals(kind) && k.group.equals(group) && k.versions.contains(version))
        .findFirst();
  }
}
