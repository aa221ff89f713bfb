package io.qmesh.proxy.security;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents the workload's current certificate. Each handshake asks for an alias and then for that
 * alias' chain and key; the alias names one certificate (its serial), and the one before it stays
 * known, so a renewal between the two calls cannot pair a key with another certificate.
 */
public final class MeshKeyManager extends X509ExtendedKeyManager {

  private volatile WorkloadCertificates.Bundle current;
  private volatile WorkloadCertificates.Bundle previous;

  void set(WorkloadCertificates.Bundle b) {
    previous = current;
    current = b;
  }

  private static String alias(WorkloadCertificates.Bundle b) {
    return b.leaf().getSerialNumber().toString(16);
  }

  private WorkloadCertificates.Bundle bundle(String alias) {
    WorkloadCertificates.Bundle c = current;
    if (c != null && alias(c).equals(alias)) {
      return c;
    }
    WorkloadCertificates.Bundle p = previous;
    return p != null && alias(p).equals(alias) ? p : null;
  }

  private String currentAlias() {
    WorkloadCertificates.Bundle c = current;
    return c == null ? null : alias(c);
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    String a = currentAlias();
    return a == null ? null : new String[] {a};
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return currentAlias();
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return currentAlias();
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return getClientAliases(keyType, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return currentAlias();
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return currentAlias();
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    WorkloadCertificates.Bundle b = bundle(alias);
    return b == null ? null : b.presented();
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    WorkloadCertificates.Bundle b = bundle(alias);
    return b == null ? null : b.key();
  }
}
