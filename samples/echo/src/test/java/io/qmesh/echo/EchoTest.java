package io.qmesh.echo;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.startsWith;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.qmesh.echo.grpc.EchoRequest;
import io.qmesh.echo.grpc.EchoResponse;
import io.qmesh.echo.grpc.EchoTestServiceGrpc;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import jakarta.inject.Inject;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

@QuarkusTest
@WithTestResource(EchoPortsResource.class)
class EchoTest {

  @TestHTTPResource("/")
  URI http;

  @Inject EchoTcpServer tcp;

  @GrpcClient("echo")
  EchoTestServiceGrpc.EchoTestServiceBlockingStub grpc;

  @GrpcClient("echo")
  io.grpc.Channel channel;

  @Test
  void answersWithWhatItSaw() {
    String body =
        given()
            .header("x-custom", "abc")
            .get("/some/path?q=1")
            .then()
            .statusCode(200)
            .contentType(startsWith("text/plain"))
            .extract()
            .asString();
    assertThat(body.lines())
        .contains(
            "ServiceVersion=v7",
            "Hostname=echo-v7-test",
            "URL=/some/path?q=1",
            "Method=GET",
            "Proto=HTTP/1.1",
            "ServicePort=" + RestAssured.port,
            "Host=localhost:" + RestAssured.port,
            "RequestHeader=x-custom:abc",
            "BodyLength=0",
            "StatusCode=200");
  }

  @Test
  void postBodyLength() {
    given()
        .body("hello world")
        .post("/p")
        .then()
        .statusCode(200)
        .body(containsString("BodyLength=11"));
  }

  @Test
  void statusParameter() {
    given().get("/?status=503").then().statusCode(503).body(containsString("StatusCode=503"));
  }

  @Test
  void codesParameterSplitsByWeight() {
    int failures = 0;
    for (int i = 0; i < 200; i++) {
      if (given().get("/?codes=503:1,200:1").statusCode() == 503) {
        failures++;
      }
    }
    // Expected 100, standard deviation about 7.
    assertThat(failures).isBetween(70, 130);
  }

  @Test
  void delayParameterAnswersLate() {
    long start = System.nanoTime();
    given().get("/?delay=300ms").then().statusCode(200);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(300);
  }

  @Test
  void headerParameterAddsResponseHeaders() {
    given().get("/?header=X-Echo:yes").then().statusCode(200).header("X-Echo", "yes");
  }

  @Test
  void malformedParametersAreABadRequest() {
    given().get("/?status=abc").then().statusCode(400).body(startsWith("status:"));
    given().get("/?codes=x").then().statusCode(400).body(startsWith("codes:"));
    given().get("/?delay=soon").then().statusCode(400).body(startsWith("delay:"));
  }

  @Test
  void webSocketEchoesFrames() throws Exception {
    List<String> received = new CopyOnWriteArrayList<>();
    CountDownLatch two = new CountDownLatch(2);
    WebSocket ws =
        HttpClient.newHttpClient()
            .newWebSocketBuilder()
            .buildAsync(
                URI.create("ws://127.0.0.1:" + http.getPort() + "/ws"),
                new WebSocket.Listener() {
                  @Override
                  public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                    received.add(data.toString());
                    two.countDown();
                    w.request(1);
                    return null;
                  }
                })
            .get(5, TimeUnit.SECONDS);
    ws.sendText("one", true).get(5, TimeUnit.SECONDS);
    ws.sendText("two", true).get(5, TimeUnit.SECONDS);
    assertThat(two.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(received).containsExactly("one", "two");
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
  }

  @Test
  void tcpAnnouncesItselfThenEchoes() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", tcp.actualPort())) {
      socket.setSoTimeout(5000);
      OutputStream out = socket.getOutputStream();
      out.write("ping\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      String expected =
          "ServiceVersion=v7\nServicePort=" + tcp.actualPort() + "\nHostname=echo-v7-test\nping\n";
      assertThat(readAtLeast(socket.getInputStream(), expected.length())).isEqualTo(expected);
      out.write("pong\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      assertThat(readAtLeast(socket.getInputStream(), 5)).isEqualTo("pong\n");
    }
  }

  @Test
  void grpcUnaryEchoesMessageAndMetadata() {
    Metadata metadata = new Metadata();
    metadata.put(Metadata.Key.of("x-trace", Metadata.ASCII_STRING_MARSHALLER), "t1");
    EchoResponse response =
        grpc.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(metadata))
            .echo(EchoRequest.newBuilder().setMessage("hi").build());
    assertThat(response.getMessage().lines())
        .startsWith("hi")
        .contains(
            "ServiceVersion=v7", "Proto=GRPC", "Hostname=echo-v7-test", "RequestHeader=x-trace:t1");
  }

  @Test
  void grpcStatusCanBeRequested() {
    Metadata metadata = new Metadata();
    metadata.put(Metadata.Key.of("echo-grpc-status", Metadata.ASCII_STRING_MARSHALLER), "14");
    assertThatThrownBy(
            () ->
                grpc.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(metadata))
                    .echo(EchoRequest.newBuilder().setMessage("x").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  @Test
  void grpcStreamAnswersEachMessage() throws Exception {
    List<String> received = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    StreamObserver<EchoRequest> requests =
        EchoTestServiceGrpc.newStub(channel)
            .echoStream(
                new StreamObserver<>() {
                  @Override
                  public void onNext(EchoResponse value) {
                    received.add(value.getMessage().lines().findFirst().orElse(""));
                  }

                  @Override
                  public void onError(Throwable t) {
                    done.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {
                    done.complete(null);
                  }
                });
    for (String m : List.of("a", "b", "c")) {
      requests.onNext(EchoRequest.newBuilder().setMessage(m).build());
    }
    requests.onCompleted();
    done.get(5, TimeUnit.SECONDS);
    assertThat(received).containsExactly("a", "b", "c");
  }

  private static String readAtLeast(InputStream in, int n) throws Exception {
    byte[] buf = new byte[n];
    int read = 0;
    while (read < n) {
      int r = in.read(buf, read, n - read);
      if (r < 0) {
        break;
      }
      read += r;
    }
    return new String(buf, 0, read, StandardCharsets.UTF_8);
  }
}
