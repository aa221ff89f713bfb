package io.qmesh.proxy.security;

import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Trusts a peer whose chain leads to one of the mesh's roots and, when {@code identities} is not
 * empty, whose SPIFFE id is one of them (Envoy's {@code match_subject_alt_names}, which Istio sets
 * to the destination service's accounts). Host names are not checked: mesh identities are not DNS
 * names.
 */
public final class MeshTrustManager extends CheckingTrustManager {

  private final Set<String> identities;

  public MeshTrustManager(List<X509Certificate> roots, Set<String> identities) {
    super(roots(roots));
    this.identities = Set.copyOf(identities);
  }

  private static javax.net.ssl.X509ExtendedTrustManager roots(List<X509Certificate> roots) {
    try {
      return pkix(roots);
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("cannot trust the mesh roots: " + e.getMessage(), e);
    }
  }

  /** The SPIFFE id (URI SAN {@code spiffe://...}) of a certificate, or null. */
  public static String spiffeId(X509Certificate cert) {
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (Integer.valueOf(6).equals(san.get(0))
              && san.get(1) instanceof String s
              && s.startsWith("spiffe://")) {
            return s;
          }
        }
      }
    } catch (CertificateParsingException e) {
      return null;
    }
    return null;
  }

  @Override
  void check(X509Certificate[] chain) throws CertificateException {
    if (identities.isEmpty()) {
      return;
    }
    String id = spiffeId(chain[0]);
    if (id == null || !identities.contains(id)) {
      throw new CertificateException(
          "peer identity " + id + " is not one of " + identities.stream().sorted().toList());
    }
  }
}
