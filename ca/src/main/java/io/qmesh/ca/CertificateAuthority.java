package io.qmesh.ca;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.jboss.logging.Logger;

/**
 * The mesh's certificate authority: a signing key and its certificate chain up to the root, and the
 * workload certificates it signs.
 *
 * <p>{@link #open} takes, in this order: a plugged-in CA in {@code <dir>/cacerts} (Istio's {@code
 * cacerts} files: {@code ca-cert.pem}, {@code ca-key.pem}, {@code cert-chain.pem}, {@code
 * root-cert.pem}); the self-signed root kept in {@code <dir>} ({@code root-cert.pem}, {@code
 * root-key.pem}); or a new self-signed root (ECDSA P-256, 10 years), written there with owner-only
 * permissions so the next start signs with the same root.
 */
public final class CertificateAuthority {

  private static final Logger LOG = Logger.getLogger(CertificateAuthority.class);

  /** A self-signed root's lifetime (Istio's: 10 years). */
  public static final Duration ROOT_TTL = Duration.ofDays(3650);

  /** Allowance for clocks a little behind the CA's: certificates start this much earlier. */
  static final Duration BACKDATE = Duration.ofMinutes(1);

  private static final SecureRandom RANDOM = new SecureRandom();

  private final PrivateKey key;
  private final X509Certificate cert;
  private final List<X509Certificate> chain;
  private final String source;
  private final Clock clock;

  private CertificateAuthority(
      PrivateKey key, List<X509Certificate> chain, String source, Clock clock) {
    this.key = key;
    this.cert = chain.get(0);
    this.chain = List.copyOf(chain);
    this.source = source;
    this.clock = clock;
  }

  /**
   * Opens the CA kept in {@code dir}, creating a self-signed root there on first start.
   *
   * @throws IllegalStateException naming the file and what is wrong with it
   */
  public static CertificateAuthority open(Path dir, Clock clock) {
    Path plugged = dir.resolve("cacerts");
    try {
      if (Files.exists(plugged.resolve("ca-cert.pem"))) {
        return plugged(plugged, clock);
      }
      Path rootCert = dir.resolve("root-cert.pem");
      Path rootKey = dir.resolve("root-key.pem");
      if (Files.exists(rootCert) && Files.exists(rootKey)) {
        List<X509Certificate> certs = Pem.certificates(Files.readString(rootCert));
        PrivateKey key = Pem.privateKey(Files.readString(rootKey));
        checkPair(key, certs.get(0), rootKey);
        LOG.infof(
            "CA: self-signed root from %s, valid until %s",
            rootCert, certs.get(0).getNotAfter().toInstant());
        return new CertificateAuthority(key, List.of(certs.get(0)), rootCert.toString(), clock);
      }
      KeyPair pair = Keys.newEcKeyPair();
      X509Certificate root = selfSigned(pair, clock.instant(), ROOT_TTL);
      // The key first: a root certificate is never kept without its key.
      SecureFiles.write(rootKey, Pem.encode(pair.getPrivate()), true);
      SecureFiles.write(rootCert, Pem.encode(root), true);
      LOG.infof(
          "CA: created a self-signed root in %s (ECDSA P-256, valid until %s)",
          dir, root.getNotAfter().toInstant());
      return new CertificateAuthority(pair.getPrivate(), List.of(root), rootCert.toString(), clock);
    } catch (IOException e) {
      throw new UncheckedIOException("CA: cannot read or write " + dir + ": " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("CA in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Istio's plugged-in CA files: the signing certificate and key, its chain and the root. */
  private static CertificateAuthority plugged(Path dir, Clock clock) throws IOException {
    X509Certificate caCert = read(dir.resolve("ca-cert.pem")).get(0);
    PrivateKey key;
    try {
      key = Pem.privateKey(Files.readString(dir.resolve("ca-key.pem")));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("ca-key.pem: " + e.getMessage(), e);
    }
    checkPair(key, caCert, dir.resolve("ca-key.pem"));
    X509Certificate root = read(dir.resolve("root-cert.pem")).get(0);
    List<X509Certificate> chain = new ArrayList<>();
    chain.add(caCert);
    Path chainFile = dir.resolve("cert-chain.pem");
    if (Files.exists(chainFile)) {
      for (X509Certificate c : read(chainFile)) {
        if (!c.equals(caCert) && !c.equals(root)) {
          chain.add(c);
        }
      }
    }
    if (!caCert.equals(root)) {
      chain.add(root);
    }
    verifyChain(chain);
    LOG.infof(
        "CA: plugged-in CA from %s (%s, root %s)",
        dir, caCert.getSubjectX500Principal(), root.getSubjectX500Principal());
    return new CertificateAuthority(key, chain, dir.toString(), clock);
  }

  private static List<X509Certificate> read(Path file) throws IOException {
    try {
      return Pem.certificates(Files.readString(file));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file.getFileName() + ": " + e.getMessage(), e);
    }
  }

  private static void checkPair(PrivateKey key, X509Certificate cert, Path keyFile) {
    if (!Keys.matches(key, cert.getPublicKey())) {
      throw new IllegalArgumentException(
          keyFile.getFileName() + " is not the key of its certificate");
    }
  }

  /** Each certificate is signed by the next; the last by itself. */
  private static void verifyChain(List<X509Certificate> chain) {
    for (int i = 0; i < chain.size(); i++) {
      X509Certificate c = chain.get(i);
      X509Certificate issuer = i + 1 < chain.size() ? chain.get(i + 1) : c;
      try {
        c.verify(issuer.getPublicKey());
      } catch (GeneralSecurityException e) {
        throw new IllegalArgumentException(
            "the chain does not verify: "
                + c.getSubjectX500Principal()
                + " is not signed by "
                + issuer.getSubjectX500Principal());
      }
    }
  }

  /** A CA certificate signed by its own key (the root), subject {@code O=cluster.local}. */
  static X509Certificate selfSigned(KeyPair pair, Instant now, Duration ttl) {
    X500Name name = new X500Name("O=" + io.qmesh.api.MeshNames.TRUST_DOMAIN);
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
                  name,
                  serial(),
                  Date.from(now.minus(BACKDATE)),
                  Date.from(now.plus(ttl)),
                  name,
                  pair.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
              .addExtension(
                  Extension.keyUsage,
                  true,
                  new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  ext.createSubjectKeyIdentifier(pair.getPublic()));
      return sign(b, pair.getPrivate());
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot create the root certificate: " + e.getMessage(), e);
    }
  }

  /**
   * Signs a workload certificate for {@code publicKey}: no subject, the identities as URI SANs
   * (critical), DNS names as DNS SANs, server and client authentication, valid from now for {@code
   * ttl}.
   *
   * @return the chain: the new certificate first, the root last
   */
  public List<X509Certificate> sign(
      PublicKey publicKey, List<String> uris, List<String> dnsNames, Duration ttl) {
    Instant now = clock.instant();
    Instant notAfter = now.plus(ttl);
    if (notAfter.isAfter(cert.getNotAfter().toInstant())) {
      // A certificate never outlives its issuer.
      notAfter = cert.getNotAfter().toInstant();
    }
    List<GeneralName> names = new ArrayList<>();
    uris.forEach(u -> names.add(new GeneralName(GeneralName.uniformResourceIdentifier, u)));
    dnsNames.forEach(
        d ->
            names.add(
                d.chars().allMatch(ch -> Character.isDigit(ch) || ch == '.' || ch == ':')
                    ? new GeneralName(GeneralName.iPAddress, d)
                    : new GeneralName(GeneralName.dNSName, d)));
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
                  cert,
                  serial(),
                  Date.from(now.minus(BACKDATE)),
                  Date.from(notAfter),
                  new X500Name(""),
                  publicKey)
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(
                  Extension.keyUsage,
                  true,
                  new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
              .addExtension(
                  Extension.extendedKeyUsage,
                  false,
                  new ExtendedKeyUsage(
                      new KeyPurposeId[] {
                        KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                      }))
              .addExtension(
                  Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(cert))
              .addExtension(
                  Extension.subjectAlternativeName,
                  true,
                  new GeneralNames(names.toArray(GeneralName[]::new)));
      List<X509Certificate> out = new ArrayList<>();
      out.add(sign(b, key));
      out.addAll(chain);
      return List.copyOf(out);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign: " + e.getMessage(), e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(
              b.build(new JcaContentSignerBuilder(Keys.signatureAlgorithm(key)).build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e.getMessage(), e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM);
  }

  /** The root every workload trusts. */
  public X509Certificate root() {
    return chain.get(chain.size() - 1);
  }

  /** The signing certificate, then any intermediates, then the root. */
  public List<X509Certificate> chain() {
    return chain;
  }

  /** Where the CA came from (a directory or file), for logs and status. */
  public String source() {
    return source;
  }
}
