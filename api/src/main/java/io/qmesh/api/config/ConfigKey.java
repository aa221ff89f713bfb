package io.qmesh.api.config;

/** Names one configuration object: {@code VirtualService default/reviews}. */
public record ConfigKey(ConfigKind kind, String namespace, String name)
    implements Comparable<ConfigKey> {

  @Override
  public String toString() {
    return kind.kindName() + " " + (kind.namespaced() ? namespace + "/" : "") + name;
  }

  @Override
  public int compareTo(ConfigKey o) {
    int c = kind.compareTo(o.kind);
    if (c == 0) {
      c = namespace.compareTo(o.namespace);
    }
    return c == 0 ? name.compareTo(o.name) : c;
  }
}
