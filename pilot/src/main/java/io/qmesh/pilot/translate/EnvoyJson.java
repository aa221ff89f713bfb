package io.qmesh.pilot.translate;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;

/**
 * Envoy resources as JSON, with every typed config pilot writes resolvable (config dumps, goldens).
 */
public final class EnvoyJson {

  public static final JsonFormat.TypeRegistry TYPES =
      JsonFormat.TypeRegistry.newBuilder()
          .add(HttpConnectionManager.getDescriptor())
          .add(
              io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                  .getDescriptor())
          .add(
              io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                  .getDescriptor())
          .add(
              io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer
                  .getDescriptor())
          .add(
              io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
                  .getDescriptor())
          .add(Router.getDescriptor())
          .add(HTTPFault.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy.getDescriptor())
          .add(TcpProxy.getDescriptor())
          .add(PreviousHostsPredicate.getDescriptor())
          .add(HttpProtocolOptions.getDescriptor())
          .add(io.envoyproxy.envoy.config.trace.v3.ZipkinConfig.getDescriptor())
          .add(io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog.getDescriptor())
          // Istio's stats filter config (stats.PluginConfig) travels as a TypedStruct.
          .add(com.github.xds.type.v3.TypedStruct.getDescriptor())
          .build();

  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().usingTypeRegistry(TYPES);

  private EnvoyJson() {}

  public static String print(Message m) {
    try {
      return PRINTER.print(m);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(
          "cannot print " + m.getDescriptorForType().getFullName() + ": " + e.getMessage(), e);
    }
  }
}
