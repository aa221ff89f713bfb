package io.qmesh.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {

  static final Instant NOW = Instant.parse("2026-11-26T10:00:00Z");
  static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  static final String ID = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews";

  @TempDir Path dir;

  @Test
  void firstStartCreatesAnEcdsaRootForTenYearsKeptOwnerOnly() throws Exception {
    CertificateAuthority ca = CertificateAuthority.open(dir, CLOCK);

    X509Certificate root = ca.root();
    assertThat(root.getPublicKey().getAlgorithm()).isEqualTo("EC");
    assertThat(root.getSigAlgName()).isEqualToIgnoringCase("SHA256withECDSA");
    assertThat(root.getBasicConstraints()).isGreaterThanOrEqualTo(0);
    assertThat(root.getSubjectX500Principal().getName()).isEqualTo("O=cluster.local");
    assertThat(Duration.between(NOW, root.getNotAfter().toInstant()))
        .isEqualTo(Duration.ofDays(3650));
    assertThat(Files.getPosixFilePermissions(dir.resolve("root-key.pem")))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(Pem.certificates(Files.readString(dir.resolve("root-cert.pem"))))
        .containsExactly(root);
  }

  @Test
  void theRootIsKeptAcrossRestarts() {
    CertificateAuthority first = CertificateAuthority.open(dir, CLOCK);
    CertificateAuthority second = CertificateAuthority.open(dir, CLOCK);

    assertThat(second.root()).isEqualTo(first.root());
    KeyPair workload = Keys.newEcKeyPair();
    List<X509Certificate> chain =
        second.sign(workload.getPublic(), List.of(ID), List.of(), Duration.ofHours(1));
    // Signed after the restart, the certificate still verifies against the root from before.
    assertThat(verifies(chain.get(0), first.root())).isTrue();
  }

  @Test
  void workloadCertificatesCarryTheSpiffeIdForServerAndClientAuth() throws Exception {
    CertificateAuthority ca = CertificateAuthority.open(dir, CLOCK);
    KeyPair workload = Keys.newEcKeyPair();

    List<X509Certificate> chain =
        ca.sign(workload.getPublic(), List.of(ID), List.of(), Duration.ofHours(24));

    assertThat(chain).hasSize(2);
    X509Certificate leaf = chain.get(0);
    assertThat(chain.get(1)).isEqualTo(ca.root());
    assertThat(leaf.getPublicKey()).isEqualTo(workload.getPublic());
    assertThat(sans(leaf)).containsExactly(List.of(6, ID));
    assertThat(leaf.getCriticalExtensionOIDs()).contains(Extension.subjectAlternativeName.getId());
    assertThat(leaf.getExtendedKeyUsage())
        .containsExactly("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    assertThat(leaf.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofHours(24)));
    assertThat(leaf.getNotBefore().toInstant()).isEqualTo(NOW.minus(CertificateAuthority.BACKDATE));
    assertThat(verifies(leaf, ca.root())).isTrue();
  }

  @Test
  void aCertificateNeverOutlivesItsIssuer() {
    CertificateAuthority ca = CertificateAuthority.open(dir, CLOCK);
    CertificateAuthority later =
        CertificateAuthority.open(
            dir, Clock.fixed(NOW.plus(Duration.ofDays(3649)), ZoneOffset.UTC));

    X509Certificate leaf =
        later
            .sign(Keys.newEcKeyPair().getPublic(), List.of(ID), List.of(), Duration.ofDays(30))
            .get(0);

    assertThat(leaf.getNotAfter()).isEqualTo(ca.root().getNotAfter());
  }

  @Test
  void aPluggedInCaSignsWithItsIntermediateAndServesTheWholeChain() throws Exception {
    KeyPair rootKey = Keys.newEcKeyPair();
    X509Certificate root = CertificateAuthority.selfSigned(rootKey, NOW, Duration.ofDays(3650));
    KeyPair caKey = Keys.newEcKeyPair();
    X509Certificate caCert = intermediate(caKey, rootKey, root);
    Path cacerts = dir.resolve("cacerts");
    Files.createDirectories(cacerts);
    Files.writeString(cacerts.resolve("ca-cert.pem"), Pem.encode(caCert));
    Files.writeString(cacerts.resolve("ca-key.pem"), Pem.encode(caKey.getPrivate()));
    Files.writeString(cacerts.resolve("root-cert.pem"), Pem.encode(root));
    Files.writeString(cacerts.resolve("cert-chain.pem"), Pem.encode(List.of(caCert, root)));

    CertificateAuthority ca = CertificateAuthority.open(dir, CLOCK);
    List<X509Certificate> chain =
        ca.sign(Keys.newEcKeyPair().getPublic(), List.of(ID), List.of(), Duration.ofHours(1));

    assertThat(ca.root()).isEqualTo(root);
    assertThat(chain).hasSize(3);
    assertThat(chain.subList(1, 3)).containsExactly(caCert, root);
    assertThat(verifies(chain.get(0), caCert)).isTrue();
    assertThat(verifies(chain.get(0), root)).isFalse();
    // Nothing of its own is created beside a plugged-in CA.
    assertThat(dir.resolve("root-key.pem")).doesNotExist();
  }

  @Test
  void aPluggedInKeyThatIsNotTheCertificatesIsRefusedByName() throws Exception {
    KeyPair rootKey = Keys.newEcKeyPair();
    X509Certificate root = CertificateAuthority.selfSigned(rootKey, NOW, Duration.ofDays(3650));
    Path cacerts = dir.resolve("cacerts");
    Files.createDirectories(cacerts);
    Files.writeString(cacerts.resolve("ca-cert.pem"), Pem.encode(root));
    Files.writeString(cacerts.resolve("ca-key.pem"), Pem.encode(Keys.newEcKeyPair().getPrivate()));
    Files.writeString(cacerts.resolve("root-cert.pem"), Pem.encode(root));

    assertThatThrownBy(() -> CertificateAuthority.open(dir, CLOCK))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("ca-key.pem is not the key of its certificate");
  }

  @Test
  void aPluggedInChainThatDoesNotVerifyIsRefused() throws Exception {
    KeyPair rootKey = Keys.newEcKeyPair();
    X509Certificate root = CertificateAuthority.selfSigned(rootKey, NOW, Duration.ofDays(3650));
    KeyPair otherRootKey = Keys.newEcKeyPair();
    X509Certificate otherRoot =
        CertificateAuthority.selfSigned(otherRootKey, NOW, Duration.ofDays(3650));
    KeyPair caKey = Keys.newEcKeyPair();
    X509Certificate caCert = intermediate(caKey, rootKey, root);
    Path cacerts = dir.resolve("cacerts");
    Files.createDirectories(cacerts);
    Files.writeString(cacerts.resolve("ca-cert.pem"), Pem.encode(caCert));
    Files.writeString(cacerts.resolve("ca-key.pem"), Pem.encode(caKey.getPrivate()));
    Files.writeString(cacerts.resolve("root-cert.pem"), Pem.encode(otherRoot));

    assertThatThrownBy(() -> CertificateAuthority.open(dir, CLOCK))
        .hasMessageContaining("the chain does not verify");
  }

  @Test
  void aBrokenRootFileIsNamed() throws Exception {
    CertificateAuthority.open(dir, CLOCK);
    Files.writeString(dir.resolve("root-cert.pem"), "not a certificate");

    assertThatThrownBy(() -> CertificateAuthority.open(dir, CLOCK))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(dir.toString())
        .hasMessageContaining("no PEM certificate");
  }

  static X509Certificate intermediate(KeyPair key, KeyPair issuerKey, X509Certificate issuer)
      throws Exception {
    var b =
        new JcaX509v3CertificateBuilder(
                issuer,
                BigInteger.valueOf(7),
                Date.from(NOW.minus(Duration.ofDays(1))),
                Date.from(NOW.plus(Duration.ofDays(365))),
                new X500Name("O=cluster.local,CN=intermediate"),
                key.getPublic())
            .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
            .addExtension(
                Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    return new JcaX509CertificateConverter()
        .getCertificate(
            b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey.getPrivate())));
  }

  static boolean verifies(X509Certificate cert, X509Certificate issuer) {
    try {
      cert.verify(issuer.getPublicKey());
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  static Collection<List<?>> sans(X509Certificate cert) throws Exception {
    return cert.getSubjectAlternativeNames();
  }
}
