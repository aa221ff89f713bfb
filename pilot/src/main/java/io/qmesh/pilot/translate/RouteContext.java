package io.qmesh.pilot.translate;

import io.qmesh.pilot.model.MeshSnapshot;
import io.qmesh.pilot.model.ProxyNode;
import java.util.Set;

/**
 * Where a route table is being built: for which proxy, on which port, and which gateway names (or
 * "mesh" for sidecars) a VirtualService's {@code gateways} must name for its routes to apply, and
 * the clusters that exist (routes refer to no other).
 */
record RouteContext(
    MeshSnapshot mesh, ProxyNode proxy, int port, Set<String> gateways, Set<String> clusters) {}
