package io.qmesh.api.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * One parsed configuration object: its key, the typed fabric8 model, and the document it came from
 * (kept to store and show it as the user wrote it).
 *
 * @param <T> the fabric8 model type
 */
public record ConfigObject<T extends HasMetadata>(ConfigKey key, T object, JsonNode source) {

  /** The typed model, cast to what the caller knows the kind to be. */
  @SuppressWarnings("unchecked")
  public <U extends HasMetadata> U as(Class<U> type) {
    return (U) type.cast(object);
  }
}
