package io.qmesh.echo;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.inject.Singleton;

/** Makes each gRPC call's metadata and call attributes visible to the echo service. */
@GlobalInterceptor
@Singleton
public class MetadataInterceptor implements ServerInterceptor {

  static final Context.Key<Metadata> METADATA = Context.key("echo-metadata");
  static final Context.Key<ServerCall<?, ?>> CALL = Context.key("echo-call");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Context context = Context.current().withValue(METADATA, headers).withValue(CALL, call);
    return Contexts.interceptCall(context, call, headers, next);
  }
}
