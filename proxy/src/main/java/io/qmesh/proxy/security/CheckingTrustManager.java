package io.qmesh.proxy.security;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * PKIX validation of the peer's chain, then a check of the peer's certificate of the subclass's own
 * (its SPIFFE id, its subject alt names), on every path the JDK calls.
 */
abstract class CheckingTrustManager extends X509ExtendedTrustManager {

  private final X509ExtendedTrustManager pkix;

  CheckingTrustManager(X509ExtendedTrustManager pkix) {
    this.pkix = pkix;
  }

  /** Throws when the peer's chain, already valid, is not one to accept. */
  abstract void check(X509Certificate[] chain) throws CertificateException;

  /**
   * PKIX over {@code roots}, or over the JVM's default roots when null.
   *
   * @throws GeneralSecurityException when the roots cannot be taken in
   */
  static X509ExtendedTrustManager pkix(List<X509Certificate> roots)
      throws GeneralSecurityException, java.io.IOException {
    KeyStore ks = null;
    if (roots != null) {
      ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      for (int i = 0; i < roots.size(); i++) {
        ks.setCertificateEntry("root-" + i, roots.get(i));
      }
    }
    TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
    f.init(ks);
    for (TrustManager tm : f.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x) {
        return x;
      }
    }
    throw new IllegalStateException("no X.509 trust manager in this JVM");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    pkix.checkClientTrusted(chain, authType, socket);
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    pkix.checkServerTrusted(chain, authType, socket);
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    pkix.checkClientTrusted(chain, authType, engine);
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    pkix.checkServerTrusted(chain, authType, engine);
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    pkix.checkClientTrusted(chain, authType);
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    pkix.checkServerTrusted(chain, authType);
    check(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return pkix.getAcceptedIssuers();
  }
}
