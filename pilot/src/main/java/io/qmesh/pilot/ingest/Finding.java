package io.qmesh.pilot.ingest;

/**
 * One validation result: {@code VirtualService default/reviews: spec.http[0].timeout: '5 s' is not
 * a duration}.
 */
public record Finding(Severity severity, String object, String field, String message) {

  /** Errors reject the apply; warnings are reported and the apply goes ahead (as istioctl does). */
  public enum Severity {
    ERROR,
    WARNING
  }

  @Override
  public String toString() {
    return object + ": " + (field.isEmpty() ? "" : field + ": ") + message;
  }
}
