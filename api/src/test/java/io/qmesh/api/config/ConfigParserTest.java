package io.qmesh.api.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.istio.api.networking.v1.VirtualService;
import io.fabric8.kubernetes.api.model.Service;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ConfigParserTest {

  @Test
  void multiDocumentYamlWithDefaultNamespace() {
    var objects =
        ConfigParser.parse(
            """
            apiVersion: networking.istio.io/v1alpha3
            kind: VirtualService
            metadata:
              name: reviews
            spec:
              hosts: [reviews]
              http:
              - route:
                - destination: {host: reviews, subset: v1}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: reviews, namespace: shop}
            spec:
              selector: {app: reviews}
              ports: [{port: 9080, name: http}]
            """,
            "default");
    assertThat(objects)
        .extracting(o -> o.key().toString())
        .containsExactly("VirtualService default/reviews", "Service shop/reviews");
    VirtualService vs = objects.get(0).as(VirtualService.class);
    assertThat(vs.getSpec().getHttp().get(0).getRoute().get(0).getDestination().getSubset())
        .isEqualTo("v1");
    assertThat(objects.get(1).as(Service.class).getSpec().getPorts().get(0).getPort())
        .isEqualTo(9080);
  }

  @Test
  void versionsOfAKindAreOneKind() {
    String v1 = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\n";
    String v1b = "apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: g}\n";
    assertThat(ConfigParser.parse(v1, "default").get(0).key())
        .isEqualTo(ConfigParser.parse(v1b, "default").get(0).key());
  }

  @Test
  void jsonAndKindList() {
    var objects =
        ConfigParser.parse(
            "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
                + "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"shop\"}}]}",
            "default");
    assertThat(objects).extracting(o -> o.key().toString()).containsExactly("Namespace shop");
  }

  @Test
  void errorsNameTheDocumentObjectAndField() {
    assertThatThrownBy(
            () ->
                ConfigParser.parse(
                    """
                    apiVersion: v1
                    kind: Namespace
                    metadata: {name: ok}
                    ---
                    apiVersion: example.com/v1
                    kind: Frobnicator
                    metadata: {name: f}
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: VirtualService
                    metadata: {name: bad}
                    spec:
                      http:
                      - route:
                        - destination: {host: reviews}
                          weight: lots
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: DestinationRule
                    metadata: {}
                    """,
                    "default"))
        .isInstanceOfSatisfying(
            ConfigException.class,
            e ->
                assertThat(e.errors())
                    .containsExactly(
                        "document 2: unknown kind Frobnicator in example.com/v1; the mesh accepts"
                            + " VirtualService, DestinationRule, Gateway, ServiceEntry,"
                            + " WorkloadEntry, Sidecar, EnvoyFilter, PeerAuthentication,"
                            + " RequestAuthentication, AuthorizationPolicy, Telemetry, Service,"
                            + " Namespace",
                        "document 3: VirtualService default/bad: spec.http[0].route[0].weight:"
                            + " Cannot deserialize value of type `java.lang.Integer` from String"
                            + " \"lots\": not a valid `java.lang.Integer` value",
                        "document 4: DestinationRule: metadata.name: required"));
  }

  @Test
  void notYamlAtAll() {
    assertThatThrownBy(() -> ConfigParser.parse("a: [b", "default"))
        .hasMessageStartingWith("not valid YAML or JSON");
  }

  @Test
  void everyIstioSampleParses() throws IOException {
    Path samples = IstioSamples.dir().resolve("bookinfo/networking");
    try (Stream<Path> files = Files.list(samples)) {
      for (Path f : files.sorted().toList()) {
        assertThat(ConfigParser.parse(Files.readString(f), "default"))
            .as(f.toString())
            .isNotEmpty();
      }
    }
  }
}
