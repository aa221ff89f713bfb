package io.qmesh.api.config;

import java.util.List;

/** Configuration that cannot be accepted; each message names the document or object and field. */
public class ConfigException extends RuntimeException {

  private final List<String> errors;

  public ConfigException(List<String> errors) {
    super(String.join("; ", errors));
    this.errors = List.copyOf(errors);
  }

  public ConfigException(String error) {
    this(List.of(error));
  }

  public List<String> errors() {
    return errors;
  }
}
