package io.qmesh.pilot.model;

/**
 * One port of a service.
 *
 * @param name the port's name ({@code http}), may be empty
 * @param port the service port clients call
 * @param protocol from the name or appProtocol
 * @param targetPort the workload's port; a named target port is resolved per workload
 * @param targetPortName the named target port, or null
 */
public record ServicePort(
    String name, int port, Protocol protocol, int targetPort, String targetPortName) {}
