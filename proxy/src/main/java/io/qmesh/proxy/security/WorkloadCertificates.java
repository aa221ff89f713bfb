package io.qmesh.proxy.security;

import io.qmesh.ca.CaClient;
import io.qmesh.ca.Keys;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * The workload's certificate, as istio-agent keeps it: a new key (ECDSA P-256) and a certificate
 * from the CA for the workload's identity, renewed at about half its life (with jitter, so proxies
 * started together do not renew together). When the CA cannot be reached or refuses, the current
 * certificate stays in use and the request is retried with backoff (jittered, up to 30 s, and at
 * most a tenth of the life the current certificate has left). Handshakes read the current
 * certificate each time ({@link #keyManager()}), so a renewal needs no listener or connection to be
 * replaced.
 */
public final class WorkloadCertificates implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(WorkloadCertificates.class);

  /** A key and its certificate chain (leaf first), with the roots to trust. */
  public record Bundle(
      PrivateKey key, List<X509Certificate> chain, List<X509Certificate> roots, String identity) {
    public X509Certificate leaf() {
      return chain.get(0);
    }

    public Instant notBefore() {
      return leaf().getNotBefore().toInstant();
    }

    public Instant notAfter() {
      return leaf().getNotAfter().toInstant();
    }

    /** The chain to present: leaf and intermediates, not the root. */
    X509Certificate[] presented() {
      int n =
          chain.size() > 1
                  && chain
                      .get(chain.size() - 1)
                      .getSubjectX500Principal()
                      .equals(chain.get(chain.size() - 1).getIssuerX500Principal())
              ? chain.size() - 1
              : chain.size();
      return chain.subList(0, n).toArray(X509Certificate[]::new);
    }
  }

  static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
  static final Duration REQUEST_DEADLINE = Duration.ofSeconds(10);

  /** The least time between renewals, however short-lived the certificate. */
  static final Duration MIN_RENEWAL = Duration.ofSeconds(1);

  private final CaClient ca;
  private final List<X509Certificate> roots;
  private final String identity;
  private final Duration ttl;
  private final ScheduledExecutorService exec;
  private final Clock clock;
  private final List<Consumer<Bundle>> listeners = new CopyOnWriteArrayList<>();
  private final MeshKeyManager keyManager = new MeshKeyManager();
  private volatile Bundle current;
  private volatile String lastError;
  private volatile Instant nextRenewal;
  private int failures;
  private volatile boolean closed;

  /**
   * @param ttl the lifetime to ask for (zero: the CA's default)
   */
  public WorkloadCertificates(
      CaClient ca,
      List<X509Certificate> roots,
      String identity,
      Duration ttl,
      ScheduledExecutorService exec,
      Clock clock) {
    this.ca = ca;
    this.roots = List.copyOf(roots);
    this.identity = identity;
    this.ttl = ttl;
    this.exec = exec;
    this.clock = clock;
  }

  /**
   * Certificates from the CA at {@code caAddress} ({@code host:port}), trusting the roots in {@code
   * rootFile} (Istio's {@code root-cert.pem}) and authenticating with the token in {@code
   * tokenFile}, read afresh for each request (so a rotated token is picked up); null, with a
   * warning, when the root file is absent: the proxy then runs without mutual TLS.
   *
   * @throws IllegalArgumentException naming the setting that is malformed
   */
  public static WorkloadCertificates connect(
      io.vertx.core.Vertx vertx,
      String caAddress,
      java.nio.file.Path rootFile,
      java.nio.file.Path tokenFile,
      String identity,
      Duration ttl,
      ScheduledExecutorService exec) {
    if (!java.nio.file.Files.exists(rootFile)) {
      LOG.warnf("no mesh root at %s: running without mutual TLS", rootFile);
      return null;
    }
    List<X509Certificate> roots;
    try {
      roots = io.qmesh.ca.Pem.certificates(java.nio.file.Files.readString(rootFile));
    } catch (java.io.IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException("the mesh root " + rootFile + ": " + e.getMessage(), e);
    }
    int colon = caAddress.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("the CA address '" + caAddress + "' is not host:port");
    }
    CaClient client =
        new CaClient(
            vertx,
            caAddress.substring(0, colon),
            Integer.parseInt(caAddress.substring(colon + 1)),
            roots,
            () -> {
              try {
                return java.nio.file.Files.readString(tokenFile).trim();
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(
                    "cannot read the credential " + tokenFile, e);
              }
            });
    return new WorkloadCertificates(client, roots, identity, ttl, exec, Clock.systemUTC());
  }

  /** Asks for the first certificate (in the background). */
  public void start() {
    exec.execute(this::fetch);
  }

  /** Called with each new certificate, on the renewal thread. */
  public void onChange(Consumer<Bundle> listener) {
    listeners.add(listener);
  }

  private void fetch() {
    if (closed) {
      return;
    }
    KeyPair pair = Keys.newEcKeyPair();
    ca.sign(Keys.csr(pair, List.of(identity)), ttl, REQUEST_DEADLINE)
        .whenComplete((chain, err) -> exec.execute(() -> done(pair, chain, err)));
  }

  private void done(KeyPair pair, List<X509Certificate> chain, Throwable err) {
    if (closed) {
      return;
    }
    if (err != null) {
      failures++;
      long delay = retryDelay(failures, current);
      lastError = String.valueOf(err.getMessage());
      LOG.warnf(
          "certificate for %s: the CA did not sign (%s); %s; retrying in %d ms",
          identity,
          lastError,
          current == null ? "no certificate yet" : "the current one stays in use",
          delay);
      schedule(delay);
      return;
    }
    failures = 0;
    lastError = null;
    Bundle b = new Bundle(pair.getPrivate(), chain, roots, identity);
    keyManager.set(b);
    current = b;
    long delay = renewalDelay(b);
    LOG.infof(
        "certificate for %s: serial %s, valid until %s; renewing in %d s",
        identity, b.leaf().getSerialNumber().toString(16), b.notAfter(), delay / 1000);
    listeners.forEach(l -> l.accept(b));
    schedule(delay);
  }

  /**
   * Half the life the certificate has left when it arrives, less up to 5% of it (jitter), and never
   * under {@link #MIN_RENEWAL}. Counted from its arrival, not its start: a CA backdates its
   * certificates (ours by a minute, for clock skew), which would make a short-lived one due at once
   * and renew it in a tight loop.
   */
  long renewalDelay(Bundle b) {
    long now = clock.millis();
    long life = b.notAfter().toEpochMilli() - Math.max(now, b.notBefore().toEpochMilli());
    long delay = life / 2 - ThreadLocalRandom.current().nextLong(Math.max(0, life) / 20 + 1);
    return Math.max(MIN_RENEWAL.toMillis(), delay);
  }

  /**
   * The wait before the next try after {@code failures} failed ones: exponential from half a
   * second, jittered over its upper half, up to {@link #MAX_BACKOFF}, and never more than a tenth
   * of the life the current certificate has left (at least {@link #MIN_RENEWAL}). A CA that comes
   * back after a long outage is tried again within seconds of it while the certificate in use still
   * holds, not after a backoff that outlives it: a proxy whose certificate expires fails every new
   * mutual TLS handshake.
   */
  long retryDelay(int failures, Bundle current) {
    long cap = Math.min(MAX_BACKOFF.toMillis(), 500L << Math.min(failures, 10));
    if (current != null) {
      long left = current.notAfter().toEpochMilli() - clock.millis();
      cap = Math.min(cap, Math.max(MIN_RENEWAL.toMillis(), left / 10));
    }
    return ThreadLocalRandom.current().nextLong(cap / 2, cap + 1);
  }

  private void schedule(long delayMillis) {
    nextRenewal = clock.instant().plusMillis(delayMillis);
    if (!closed) {
      exec.schedule(this::fetch, delayMillis, TimeUnit.MILLISECONDS);
    }
  }

  /** The current certificate, or null before the first. */
  public Bundle current() {
    return current;
  }

  public String identity() {
    return identity;
  }

  public List<X509Certificate> roots() {
    return roots;
  }

  /** Why the last request failed, or null after a success. */
  public String lastError() {
    return lastError;
  }

  public Instant nextRenewal() {
    return nextRenewal;
  }

  /** The key manager every handshake asks for the current certificate. */
  public MeshKeyManager keyManager() {
    return keyManager;
  }

  @Override
  public void close() {
    closed = true;
    ca.close();
  }
}
