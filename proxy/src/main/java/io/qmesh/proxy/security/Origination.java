package io.qmesh.proxy.security;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.qmesh.ca.Pem;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.ClientOptionsBase;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.TrustOptions;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509KeyManager;

/**
 * TLS with the user's certificates to a cluster's hosts (a DestinationRule's {@code SIMPLE} or
 * {@code MUTUAL}, Istio's TLS origination), from Envoy's {@code UpstreamTlsContext}: the server
 * verified against the {@code trusted_ca} file, or the system's roots ({@code system_root_certs}),
 * or not at all (no validation context: {@code insecureSkipVerify}); its certificate must carry one
 * of {@code match_subject_alt_names} when there are some, else, with auto SAN validation, the name
 * sent as SNI; a client certificate from {@code tls_certificates} files ({@code MUTUAL}). SNI is
 * the context's {@code sni}, else (auto SNI) the request's host. The files are read when the config
 * is compiled: one that cannot be read or parsed refuses the config, naming the cluster and the
 * file.
 */
public final class Origination {

  private final String sni;
  private final boolean autoSanValidation;
  private final X509ExtendedTrustManager trust;
  private final X509KeyManager keys;
  private final List<String> alpn;
  private final String key;

  private Origination(
      String sni,
      boolean autoSanValidation,
      X509ExtendedTrustManager trust,
      X509KeyManager keys,
      List<String> alpn,
      String key) {
    this.sni = sni;
    this.autoSanValidation = autoSanValidation;
    this.trust = trust;
    this.keys = keys;
    this.alpn = alpn;
    this.key = key;
  }

  /**
   * @param autoSni whether SNI is the request's host when the context names none (the cluster's
   *     {@code upstream_http_protocol_options.auto_sni})
   * @param autoSanValidation whether the server's certificate must carry that name (its {@code
   *     auto_san_validation})
   * @throws IllegalArgumentException naming the cluster and what is wrong
   */
  public static Origination of(
      String cluster, UpstreamTlsContext tls, boolean autoSni, boolean autoSanValidation) {
    CommonTlsContext common = tls.getCommonTlsContext();
    StringBuilder key = new StringBuilder(cluster).append('|').append(tls.getSni());
    X509KeyManager keys = null;
    if (common.getTlsCertificatesCount() > 0) {
      TlsCertificate c = common.getTlsCertificates(0);
      String certFile = file(cluster, "certificate_chain", c.getCertificateChain());
      String keyFile = file(cluster, "private_key", c.getPrivateKey());
      String certPem = read(cluster, certFile);
      String keyPem = read(cluster, keyFile);
      keys = keyManager(cluster, certFile, certPem, keyFile, keyPem);
      key.append('|').append(digest(certPem + keyPem));
    }
    if (common.getTlsCertificateSdsSecretConfigsCount() > 0) {
      throw new IllegalArgumentException(
          "cluster "
              + cluster
              + ": the client certificate from the SDS secret '"
              + common.getTlsCertificateSdsSecretConfigs(0).getName()
              + "' is not served here (give certificate files)");
    }
    CertificateValidationContext validation =
        common.hasCombinedValidationContext()
            ? common.getCombinedValidationContext().getDefaultValidationContext()
            : common.getValidationContext();
    boolean verify =
        common.hasValidationContext()
            && (validation.hasTrustedCa() || validation.hasSystemRootCerts());
    X509ExtendedTrustManager trust = null;
    Set<String> sans = new TreeSet<>();
    if (verify) {
      List<X509Certificate> roots = null;
      if (validation.hasTrustedCa()) {
        String caFile = file(cluster, "trusted_ca", validation.getTrustedCa());
        String caPem = read(cluster, caFile);
        try {
          roots = Pem.certificates(caPem);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "cluster " + cluster + ": the CA certificates " + caFile + ": " + e.getMessage(), e);
        }
        key.append("|ca=").append(digest(caPem));
      } else {
        key.append("|system");
      }
      for (StringMatcher m : validation.getMatchSubjectAltNamesList()) {
        sans.add(m.getExact());
      }
      for (var m : validation.getMatchTypedSubjectAltNamesList()) {
        sans.add(m.getMatcher().getExact());
      }
      sans.remove("");
      trust = new Verifying(pkix(cluster, roots), Set.copyOf(sans));
      key.append("|sans=").append(sans);
    } else {
      key.append("|insecure");
    }
    boolean autoSan = verify && sans.isEmpty() && autoSanValidation;
    key.append(autoSni ? "|auto-sni" : "").append(autoSan ? "|auto-san" : "");
    key.append('|').append(String.join(",", common.getAlpnProtocolsList()));
    return new Origination(
        tls.getSni().isEmpty() ? (autoSni ? null : "") : tls.getSni(),
        autoSan,
        trust,
        keys,
        List.copyOf(common.getAlpnProtocolsList()),
        key.toString());
  }

  /** What makes two clusters' originations share TLS clients. */
  public String key() {
    return key;
  }

  /**
   * The name to send as SNI (and to check the certificate against, with auto SAN validation): the
   * context's {@code sni}, else the request's host without its port; empty for none.
   */
  public String serverName(String requestHost) {
    if (sni != null) {
      return sni;
    }
    if (requestHost == null) {
      return "";
    }
    var parsed = io.vertx.core.net.HostAndPort.parseAuthority(requestHost, -1);
    return parsed == null ? requestHost : parsed.host();
  }

  /** HTTP client options for this origination on top of {@code base} (its protocol's ALPN). */
  public HttpClientOptions client(HttpClientOptions base) {
    secure(base);
    base.setForceSni(true).setVerifyHost(autoSanValidation).setUseAlpn(true);
    base.setAlpnVersions(
        base.getProtocolVersion() == HttpVersion.HTTP_2
            ? List.of(HttpVersion.HTTP_2)
            : List.of(HttpVersion.HTTP_1_1));
    return base;
  }

  /** TCP client options for this origination on top of {@code base}. */
  public NetClientOptions client(NetClientOptions base) {
    secure(base);
    base.setHostnameVerificationAlgorithm(autoSanValidation ? "HTTPS" : "");
    if (!alpn.isEmpty()) {
      base.setApplicationLayerProtocols(alpn);
    }
    return base;
  }

  private void secure(ClientOptionsBase o) {
    o.setSsl(true);
    if (trust == null) {
      o.setTrustAll(true);
    } else {
      o.setTrustOptions(TrustOptions.wrap(trust));
    }
    if (keys != null) {
      o.setKeyCertOptions(KeyCertOptions.wrap(keys));
    }
  }

  private static String file(
      String cluster, String field, io.envoyproxy.envoy.config.core.v3.DataSource source) {
    if (source.getFilename().isEmpty()) {
      throw new IllegalArgumentException(
          "cluster " + cluster + ": " + field + " must be a file (filename)");
    }
    return source.getFilename();
  }

  private static String read(String cluster, String file) {
    try {
      return Files.readString(Path.of(file), StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "cluster " + cluster + ": cannot read " + file + ": " + e, e);
    }
  }

  private static String digest(String text) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509KeyManager keyManager(
      String cluster, String certFile, String certPem, String keyFile, String keyPem) {
    List<X509Certificate> chain;
    PrivateKey key;
    try {
      chain = Pem.certificates(certPem);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "cluster " + cluster + ": the client certificate " + certFile + ": " + e.getMessage(), e);
    }
    try {
      key = Pem.privateKey(keyPem);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "cluster " + cluster + ": the private key " + keyFile + ": " + e.getMessage(), e);
    }
    if (!chain.get(0).getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
      throw new IllegalArgumentException(
          "cluster "
              + cluster
              + ": the private key "
              + keyFile
              + " ("
              + key.getAlgorithm()
              + ") does not go with the certificate "
              + certFile
              + " ("
              + chain.get(0).getPublicKey().getAlgorithm()
              + ")");
    }
    return new FixedKeyManager(key, chain.toArray(X509Certificate[]::new));
  }

  /**
   * One key and its chain, whatever the alias asked for (Vert.x reads a wrapped key manager with a
   * null alias).
   */
  private static final class FixedKeyManager extends javax.net.ssl.X509ExtendedKeyManager {
    private static final String ALIAS = "client";
    private final PrivateKey key;
    private final X509Certificate[] chain;

    FixedKeyManager(PrivateKey key, X509Certificate[] chain) {
      this.key = key;
      this.chain = chain;
    }

    @Override
    public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
      return new String[] {ALIAS};
    }

    @Override
    public String chooseClientAlias(
        String[] keyType, java.security.Principal[] issuers, Socket socket) {
      return ALIAS;
    }

    @Override
    public String chooseEngineClientAlias(
        String[] keyType, java.security.Principal[] issuers, SSLEngine engine) {
      return ALIAS;
    }

    @Override
    public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(
        String keyType, java.security.Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return key;
    }
  }

  /** PKIX over {@code roots}, or over the JVM's default roots when null. */
  private static X509ExtendedTrustManager pkix(String cluster, List<X509Certificate> roots) {
    try {
      return CheckingTrustManager.pkix(roots);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalArgumentException(
          "cluster " + cluster + ": cannot trust its CA certificates: " + e.getMessage(), e);
    }
  }

  /** The names a certificate's subjectAltName extension carries (DNS, URI, IP), as text. */
  static List<String> subjectAltNames(X509Certificate cert) {
    List<String> out = new ArrayList<>();
    try {
      var all = cert.getSubjectAlternativeNames();
      if (all != null) {
        for (List<?> san : all) {
          if (san.get(1) instanceof String s) {
            out.add(s);
          }
        }
      }
    } catch (CertificateParsingException e) {
      return out;
    }
    return out;
  }

  /** PKIX, then (when there are some) one of the names Envoy's matchers ask for. */
  private static final class Verifying extends CheckingTrustManager {
    private final Set<String> sans;

    Verifying(X509ExtendedTrustManager pkix, Set<String> sans) {
      super(pkix);
      this.sans = sans;
    }

    @Override
    void check(X509Certificate[] chain) throws CertificateException {
      if (sans.isEmpty()) {
        return;
      }
      List<String> present = subjectAltNames(chain[0]);
      for (String s : present) {
        if (sans.contains(s)) {
          return;
        }
      }
      throw new CertificateException(
          "the server's subject alt names " + present + " are none of " + sans);
    }
  }
}
