package io.qmesh.pilot.ingest;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.qmesh.api.config.ConfigKey;
import io.qmesh.api.config.ConfigKind;
import io.qmesh.api.config.ConfigObject;
import java.util.List;
import java.util.Optional;

/**
 * Where pilot's configuration comes from. The local store persists to disk; a Kubernetes store
 * (informers over CRDs) comes later behind the same interface.
 */
public interface ConfigStore {

  /** What an apply did to one object, in kubectl's words. */
  enum Action {
    CREATED,
    CONFIGURED,
    UNCHANGED,
    DELETED
  }

  /** One object's outcome. */
  record Change(ConfigKey key, Action action) {}

  /** An apply's outcome: every object's change and the warnings found. */
  record Result(List<Change> changes, List<Finding> warnings) {}

  /**
   * Creates or updates objects, all or nothing.
   *
   * @throws io.qmesh.api.config.ConfigException listing every error; nothing changed
   */
  Result apply(List<ConfigObject<HasMetadata>> objects);

  /** Deletes objects; keys that do not exist are reported as UNCHANGED. */
  Result delete(List<ConfigKey> keys);

  /** Objects of a kind (all kinds when empty) in a namespace (all when empty), sorted. */
  List<ConfigObject<HasMetadata>> list(Optional<ConfigKind> kind, Optional<String> namespace);

  Optional<ConfigObject<HasMetadata>> get(ConfigKey key);

  /** Increases on every change. */
  long revision();

  /** Called after every change, outside the store's lock. */
  void onChange(Runnable listener);
}
