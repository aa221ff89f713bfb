package io.qmesh.pilot.xds;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.NameResolverRegistry;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.xds.XdsNameResolverProvider;
import io.qmesh.pilot.PilotTestResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Conformance with a real third-party xDS client: grpc-java's xds resolver (proxyless gRPC, as
 * Istio serves it) dials {@code xds:///echo.default.svc.cluster.local:7070} with pilot as its
 * control plane, against two real gRPC backends registered by WorkloadEntries.
 */
@QuarkusTest
@WithTestResource(PilotTestResource.class)
class GrpcXdsConformanceTest {

  private static final String TARGET = "xds-qmesh:///echo.default.svc.cluster.local:7070";
  private static GrpcBackend v1;
  private static GrpcBackend v2;

  @Inject XdsServer xds;

  @BeforeAll
  static void backends() {
    v1 = new GrpcBackend("v1");
    v2 = new GrpcBackend("v2");
  }

  @AfterAll
  static void stopBackends() {
    v1.close();
    v2.close();
  }

  @Test
  void weightedRoutingSwitchingAndHeaderMatch() throws Exception {
    apply(
        registry()
            + virtualService(
                """
        http:
        - route:
          - destination: {host: echo, subset: v1}
            weight: 80
          - destination: {host: echo, subset: v2}
            weight: 20
        """));
    ManagedChannel channel = channel();
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .ignoreExceptions()
          .until(() -> who(channel, null) != null);

      int v1Count = 0;
      for (int i = 0; i < 1000; i++) {
        if (who(channel, null).equals("v1")) {
          v1Count++;
        }
      }
      // 80/20 over 1000 calls: each subset within 5 points (the binomial spread is about 1.3).
      assertThat(v1Count).isBetween(750, 850);

      apply(
          virtualService(
              """
          http:
          - route:
            - destination: {host: echo, subset: v2}
          """));
      long start = System.nanoTime();
      await()
          .atMost(Duration.ofSeconds(1))
          .pollInterval(Duration.ofMillis(10))
          .until(() -> allV2(channel));
      System.out.printf(
          "VirtualService switch reached the client in %d ms%n",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));

      apply(
          virtualService(
              """
          http:
          - match:
            - headers:
                x-version: {exact: v1}
            route:
            - destination: {host: echo, subset: v1}
          - route:
            - destination: {host: echo, subset: v2}
          """));
      await().atMost(Duration.ofSeconds(5)).until(() -> "v1".equals(who(channel, "v1")));
      for (int i = 0; i < 50; i++) {
        assertThat(who(channel, "v1")).isEqualTo("v1");
        assertThat(who(channel, null)).isEqualTo("v2");
      }
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static boolean allV2(ManagedChannel channel) {
    for (int i = 0; i < 20; i++) {
      if (!"v2".equals(who(channel, null))) {
        return false;
      }
    }
    return true;
  }

  private ManagedChannel channel() {
    Map<String, Object> bootstrap =
        Map.of(
            "xds_servers",
            List.of(
                Map.of(
                    "server_uri",
                    "127.0.0.1:" + xds.port(),
                    "channel_creds",
                    List.of(Map.of("type", "insecure")),
                    "server_features",
                    List.of("xds_v3"))),
            "node",
            Map.of(
                "id",
                "sidecar~127.0.0.1~grpc-client.default~default.svc.cluster.local",
                "metadata",
                Map.of("GENERATOR", "grpc", "NAMESPACE", "default")));
    NameResolverRegistry.getDefaultRegistry()
        .register(XdsNameResolverProvider.createForTest("xds-qmesh", bootstrap));
    return Grpc.newChannelBuilder(TARGET, InsecureChannelCredentials.create()).build();
  }

  private static String who(ManagedChannel channel, String version) {
    io.grpc.Channel ch = channel;
    if (version != null) {
      Metadata md = new Metadata();
      md.put(Metadata.Key.of("x-version", Metadata.ASCII_STRING_MARSHALLER), version);
      ch = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(md));
    }
    return ClientCalls.blockingUnaryCall(
        ch, GrpcBackend.WHO, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "who");
  }

  private static String registry() {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: echo}
        spec:
          selector: {app: echo}
          ports: [{name: grpc, port: 7070}]
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: echo-v1}
        spec:
          address: 127.0.0.1
          labels: {app: echo, version: v1}
          ports: {grpc: %d}
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: echo-v2}
        spec:
          address: 127.0.0.1
          labels: {app: echo, version: v2}
          ports: {grpc: %d}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: echo}
        spec:
          host: echo
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
        ---
        """
        .formatted(v1.port(), v2.port());
  }

  private static String virtualService(String http) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: echo}
        spec:
          hosts: [echo]
        """
        + http.indent(2);
  }

  private static void apply(String yaml) {
    given().body(yaml).post("/apis/config").then().statusCode(200);
  }
}
