package io.qmesh.proxy.route;

import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;

/**
 * One route, ready to run: its match as one predicate, its action, and what the filters and the
 * router apply around it. Fields the route does not set are null ({@code timeout}, {@code retry},
 * {@code hashPolicy}, {@code fault}, {@code rewrite}, {@code cors}, {@code operation}: the span
 * name from the route's decorator) or empty.
 */
public record CompiledRoute(
    String name,
    Predicate<Request> matches,
    Action action,
    Duration timeout,
    Retry retry,
    HashPolicy hashPolicy,
    Fault fault,
    HeaderOps requestHeaders,
    HeaderOps responseHeaders,
    Rewrite rewrite,
    List<Mirror> mirrors,
    Cors cors,
    String operation) {

  /** A route that only forwards, with none of the optional settings. */
  public static CompiledRoute forwarding(String name, Predicate<Request> matches, Action action) {
    return new CompiledRoute(
        name,
        matches,
        action,
        null,
        null,
        null,
        null,
        HeaderOps.NONE,
        HeaderOps.NONE,
        null,
        List.of(),
        null,
        null);
  }
}
