package io.qmesh.echo;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.qmesh.echo.grpc.EchoRequest;
import io.qmesh.echo.grpc.EchoResponse;
import io.qmesh.echo.grpc.EchoTestServiceGrpc;
import io.quarkus.grpc.GrpcService;
import io.vertx.core.Vertx;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/** The gRPC face: unary and bidirectional-streaming echo. */
@GrpcService
public class EchoGrpcService extends EchoTestServiceGrpc.EchoTestServiceImplBase {

  private static final Metadata.Key<String> STATUS_KEY =
      Metadata.Key.of("echo-grpc-status", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> DELAY_KEY =
      Metadata.Key.of("echo-delay", Metadata.ASCII_STRING_MARSHALLER);

  private final Identity identity;
  private final EchoConfig config;
  private final Vertx vertx;

  public EchoGrpcService(Identity identity, EchoConfig config, Vertx vertx) {
    this.identity = identity;
    this.config = config;
    this.vertx = vertx;
  }

  @Override
  public void echo(EchoRequest request, StreamObserver<EchoResponse> responses) {
    Metadata metadata = MetadataInterceptor.METADATA.get();
    String description = describe(request.getMessage(), metadata, MetadataInterceptor.CALL.get());
    Status status;
    Duration delay;
    try {
      status = requestedStatus(metadata);
      String delayText = metadata.get(DELAY_KEY);
      delay = delayText == null ? Duration.ZERO : Durations.parse(delayText);
    } catch (IllegalArgumentException e) {
      responses.onError(
          Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    Runnable answer =
        () -> {
          if (status.isOk()) {
            responses.onNext(EchoResponse.newBuilder().setMessage(description).build());
            responses.onCompleted();
          } else {
            responses.onError(status.asRuntimeException());
          }
        };
    if (delay.isZero()) {
      answer.run();
    } else {
      vertx.setTimer(Math.max(1, delay.toMillis()), id -> answer.run());
    }
  }

  @Override
  public StreamObserver<EchoRequest> echoStream(StreamObserver<EchoResponse> responses) {
    Metadata metadata = MetadataInterceptor.METADATA.get();
    ServerCall<?, ?> call = MetadataInterceptor.CALL.get();
    return new StreamObserver<>() {
      @Override
      public void onNext(EchoRequest request) {
        responses.onNext(
            EchoResponse.newBuilder()
                .setMessage(describe(request.getMessage(), metadata, call))
                .build());
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        responses.onCompleted();
      }
    };
  }

  private Status requestedStatus(Metadata metadata) {
    String code = metadata.get(STATUS_KEY);
    if (code != null) {
      try {
        return Status.fromCodeValue(Integer.parseInt(code.trim()))
            .withDescription("requested by echo-grpc-status");
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("echo-grpc-status: '" + code + "' is not a status code");
      }
    }
    if (config.failFraction() > 0
        && ThreadLocalRandom.current().nextDouble() < config.failFraction()) {
      return Status.UNAVAILABLE.withDescription("failing on purpose (ECHO_FAIL_FRACTION)");
    }
    return Status.OK;
  }

  private String describe(String message, Metadata metadata, ServerCall<?, ?> call) {
    StringBuilder out = new StringBuilder(message).append('\n');
    EchoRoutes.line(out, "ServiceVersion", identity.version());
    SocketAddress local = call.getAttributes().get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR);
    if (local instanceof InetSocketAddress inet) {
      EchoRoutes.line(out, "ServicePort", String.valueOf(inet.getPort()));
    }
    String authority = call.getAuthority();
    if (authority != null) {
      EchoRoutes.line(out, "Host", authority);
    }
    EchoRoutes.line(out, "Proto", "GRPC");
    EchoRoutes.line(out, "Hostname", identity.hostname());
    TreeMap<String, String> headers = new TreeMap<>();
    for (String key : metadata.keys()) {
      if (!key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
        headers.put(
            key,
            String.join(
                ",", metadata.getAll(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER))));
      }
    }
    headers.forEach((k, v) -> EchoRoutes.line(out, "RequestHeader", k + ":" + v));
    return out.toString();
  }
}
