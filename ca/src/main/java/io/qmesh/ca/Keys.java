package io.qmesh.ca;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Keys and certificate requests, as workloads make them (ECDSA P-256, as Istio's default). */
public final class Keys {

  private Keys() {}

  /** A new ECDSA P-256 key pair. */
  public static KeyPair newEcKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no ECDSA P-256 in this JVM: " + e.getMessage(), e);
    }
  }

  /** A PKCS#10 request for {@code pair}'s public key, asking for the identities as URI SANs. */
  public static PKCS10CertificationRequest csr(KeyPair pair, List<String> uris) {
    try {
      ExtensionsGenerator ext = new ExtensionsGenerator();
      ext.addExtension(
          Extension.subjectAlternativeName,
          true,
          new GeneralNames(
              uris.stream()
                  .map(u -> new GeneralName(GeneralName.uniformResourceIdentifier, u))
                  .toArray(GeneralName[]::new)));
      return new JcaPKCS10CertificationRequestBuilder(new X500Name(""), pair.getPublic())
          .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate())
          .build(
              new JcaContentSignerBuilder(signatureAlgorithm(pair.getPrivate()))
                  .build(pair.getPrivate()));
    } catch (java.io.IOException | OperatorCreationException e) {
      throw new IllegalStateException("cannot make a certificate request: " + e.getMessage(), e);
    }
  }

  static String signatureAlgorithm(PrivateKey key) {
    return switch (key.getAlgorithm()) {
      case "EC", "ECDSA" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      default ->
          throw new IllegalArgumentException("unsupported key algorithm " + key.getAlgorithm());
    };
  }

  /** Whether {@code key} is the private half of {@code publicKey} (sign, then verify). */
  static boolean matches(PrivateKey key, PublicKey publicKey) {
    try {
      String alg = signatureAlgorithm(key);
      byte[] probe = "qmesh".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(publicKey);
      v.update(probe);
      return v.verify(sig);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }
}
