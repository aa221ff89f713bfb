package io.qmesh.proxy.security;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a peer whose chain leads to one of the mesh's roots and, when {@code identities} is not
 * empty, whose SPIFFE id is one of them (Envoy's {@code match_subject_alt_names}, which Istio sets
 * to the destination service's accounts). Host names are not checked: mesh identities are not DNS
 * names.
 */
public final class MeshTrustManager extends X509ExtendedTrustManager {

  private final X509ExtendedTrustManager pkix;
  private final Set<String> identities;

  public MeshTrustManager(List<X509Certificate> roots, Set<String> identities) {
    this.identities = Set.copyOf(identities);
    try {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      for (int i = 0; i < roots.size(); i++) {
        ks.setCertificateEntry("root-" + i, roots.get(i));
      }
      TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
      f.init(ks);
      X509ExtendedTrustManager found = null;
      for (TrustManager tm : f.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x) {
          found = x;
        }
      }
      if (found == null) {
        throw new IllegalStateException("no X.509 trust manager in this JVM");
      }
      this.pkix = found;
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

  private void checkIdentity(X509Certificate[] chain) throws CertificateException {
    if (identities.isEmpty()) {
      return;
    }
    String id = spiffeId(chain[0]);
    if (id == null || !identities.contains(id)) {
      throw new CertificateException(
          "peer identity " + id + " is not one of " + identities.stream().sorted().toList());
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    pkix.checkClientTrusted(chain, authType, socket);
    checkIdentity(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    pkix.checkServerTrusted(chain, authType, socket);
    checkIdentity(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    pkix.checkClientTrusted(chain, authType, engine);
    checkIdentity(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    pkix.checkServerTrusted(chain, authType, engine);
    checkIdentity(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    pkix.checkClientTrusted(chain, authType);
    checkIdentity(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    pkix.checkServerTrusted(chain, authType);
    checkIdentity(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return pkix.getAcceptedIssuers();
  }
}
