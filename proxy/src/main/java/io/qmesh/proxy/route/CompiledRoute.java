package io.qmesh.proxy.route;

import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import java.time.Duration;
import java.util.function.Predicate;

/**
 * One route, ready to run: its match as one predicate, its action, and the route-level settings the
 * router applies (timeout, retries, hash policy; null when the route sets none).
 */
public record CompiledRoute(
    String name,
    Predicate<Request> matches,
    Action action,
    Duration timeout,
    RetryPolicy retryPolicy,
    HashPolicy hashPolicy) {}
