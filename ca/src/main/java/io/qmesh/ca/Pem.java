package io.qmesh.ca;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/** PEM in and out: certificates, private keys and certificate requests (Bouncy Castle). */
public final class Pem {

  private Pem() {}

  /** One object (a certificate, key or request) as PEM text. */
  public static String encode(Object o) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      if (o instanceof PrivateKey key) {
        // PKCS#8 ("PRIVATE KEY"), which every TLS stack reads.
        w.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key, null));
      } else {
        w.writeObject(o);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** Certificates as one PEM text, in order. */
  public static String encode(List<X509Certificate> chain) {
    StringBuilder sb = new StringBuilder();
    chain.forEach(c -> sb.append(encode(c)));
    return sb.toString();
  }

  /**
   * Every certificate of a PEM text, in order.
   *
   * @throws IllegalArgumentException when the text holds none or something else
   */
  public static List<X509Certificate> certificates(String pem) {
    List<X509Certificate> out = new ArrayList<>();
    JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      for (Object o = p.readObject(); o != null; o = p.readObject()) {
        if (!(o instanceof X509CertificateHolder h)) {
          throw new IllegalArgumentException("expected certificates, found " + kind(o));
        }
        out.add(converter.getCertificate(h));
      }
    } catch (IOException | CertificateException e) {
      throw new IllegalArgumentException("not PEM certificates: " + e.getMessage(), e);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("no PEM certificate found");
    }
    return List.copyOf(out);
  }

  /** The private key of a PEM text (PKCS#8, or SEC1/PKCS#1 "EC/RSA PRIVATE KEY"). */
  public static PrivateKey privateKey(String pem) {
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      Object o = p.readObject();
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      if (o instanceof PEMKeyPair pair) {
        return converter.getPrivateKey(pair.getPrivateKeyInfo());
      }
      if (o instanceof PrivateKeyInfo info) {
        return converter.getPrivateKey(info);
      }
      throw new IllegalArgumentException("expected a private key, found " + kind(o));
    } catch (IOException e) {
      throw new IllegalArgumentException("not a PEM private key: " + e.getMessage(), e);
    }
  }

  /** The certificate request of a PEM text. */
  public static PKCS10CertificationRequest csr(String pem) {
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      Object o = p.readObject();
      if (o instanceof PKCS10CertificationRequest csr) {
        return csr;
      }
      throw new IllegalArgumentException("expected a certificate request, found " + kind(o));
    } catch (IOException e) {
      throw new IllegalArgumentException("not a PEM certificate request: " + e.getMessage(), e);
    }
  }

  private static String kind(Object o) {
    return o == null ? "nothing" : o.getClass().getSimpleName();
  }
}
