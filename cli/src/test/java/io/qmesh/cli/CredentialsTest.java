package io.qmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmesh.ca.BootstrapTokens;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The laptop mode's workload credentials: what {@code qmesh up}/{@code run} give each proxy
 * (pilot's CA address, the mesh root pilot publishes, a token naming the workload's identity) and
 * {@code qmesh create-token}, each checked with the CA's own verifier and key.
 */
class CredentialsTest {

  @TempDir Path dir;

  private BootstrapTokens.Identity verify(Path state, String token) throws Exception {
    byte[] key = BootstrapTokens.loadOrCreateKey(state.resolve("ca/token-key"));
    return new BootstrapTokens(key, Clock.systemUTC()).verify(token.trim());
  }

  @Test
  void sidecarsAndGatewaysGetTheCaTheRootAndTheirOwnCredential() throws Exception {
    for (String module : new String[] {"sidecar", "ingress-gateway", "pilot"}) {
      Path jar = dir.resolve(module).resolve("target/quarkus-app/quarkus-run.jar");
      Files.createDirectories(jar.getParent());
      Files.createFile(jar);
    }
    Path state = dir.resolve(".qmesh");
    Launches launches = new Launches(new Home(dir, state), true);

    Launch sidecar =
        launches.sidecar(
            Launches.Workload.inBlock("reviews-v2", "reviews", "v2", "bookinfo-reviews", 5, 9080));
    assertThat(sidecar.env())
        .containsEntry("QMESH_SIDECAR_CA", "127.0.0.1:15012")
        .containsEntry(
            "QMESH_SIDECAR_CA_ROOT",
            state.resolve("ca/istio-ca-root-cert/root-cert.pem").toString());
    Path token = Path.of(sidecar.env().get("QMESH_SIDECAR_CA_TOKEN"));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(token)))
        .isEqualTo("rw-------");
    assertThat(verify(state, Files.readString(token)))
        .isEqualTo(new BootstrapTokens.Identity("default", "bookinfo-reviews"));

    Launch gateway =
        launches.gateway(
            "ingress-gateway",
            "istio-ingressgateway",
            "istio=ingressgateway",
            0,
            java.util.List.of());
    assertThat(
            verify(state, Files.readString(Path.of(gateway.env().get("QMESH_GATEWAY_CA_TOKEN")))))
        .isEqualTo(
            new BootstrapTokens.Identity("istio-system", "istio-ingressgateway-service-account"));

    // Without mutual TLS (the default for now) proxies get no identity.
    assertThat(
            new Launches(new Home(dir, state), false)
                .sidecar(
                    Launches.Workload.inBlock(
                        "reviews-v2", "reviews", "v2", "bookinfo-reviews", 5, 9080))
                .env())
        .doesNotContainKeys("QMESH_SIDECAR_CA", "QMESH_SIDECAR_CA_TOKEN");

    Launch pilot = launches.pilot();
    assertThat(pilot.env()).containsEntry("PILOT_CA_PORT", "15012");
    assertThat(pilot.binds()).contains(15012);
  }

  @Test
  void createTokenPrintsOrWritesACredentialTheCaAccepts() throws Exception {
    Path state = dir.resolve(".qmesh");
    Cli.Run printed = Cli.run(dir, state, "create-token", "ratings", "-n", "shop");
    assertThat(printed.code()).as(printed.err()).isZero();
    assertThat(verify(state, printed.out()))
        .isEqualTo(new BootstrapTokens.Identity("shop", "ratings"));

    Path file = dir.resolve("token");
    Cli.Run written =
        Cli.run(dir, state, "create-token", "details", "--duration", "2h", "-f", file.toString());
    assertThat(written.code()).as(written.err()).isZero();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(verify(state, Files.readString(file)))
        .isEqualTo(new BootstrapTokens.Identity("default", "details"));

    Cli.Run bad = Cli.run(dir, state, "create-token", "details", "--duration", "soon");
    assertThat(bad.code()).isNotZero();
    assertThat(bad.err()).contains("--duration: 'soon' is not a positive number of s, m, h or d");
  }
}
