package io.qmesh.pilot.model;

import java.util.Map;

/** One address serving one service port, with the workload's labels (for subsets). */
public record Endpoint(String address, int port, Map<String, String> labels, String workload) {}
