package io.qmesh.pilot.model;

/**
 * A namespaced Istio spec with its object's name, in the order Istio resolves conflicts (oldest
 * first, then namespace and name).
 *
 * @param <S> the spec type
 */
public record Named<S>(String namespace, String name, long created, S spec) {

  /** {@code namespace/name}. */
  public String ref() {
    return namespace + "/" + name;
  }
}
