package io.qmesh.proxy.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmesh.ca.CertificateAuthority;
import io.qmesh.ca.Keys;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkloadCertificatesTest {

  private static final Instant ISSUED = Instant.parse("2026-11-26T12:00:00Z");
  private static final String ID = "spiffe://cluster.local/ns/default/sa/echo";

  @TempDir Path dir;

  /** A certificate for {@code ttl} from our CA (which backdates it a minute), issued at ISSUED. */
  private WorkloadCertificates.Bundle issued(Duration ttl) {
    CertificateAuthority ca = CertificateAuthority.open(dir, Clock.fixed(ISSUED, ZoneOffset.UTC));
    KeyPair pair = Keys.newEcKeyPair();
    var chain = ca.sign(pair.getPublic(), List.of(ID), List.of(), ttl);
    return new WorkloadCertificates.Bundle(pair.getPrivate(), chain, List.of(ca.root()), ID);
  }

  private static WorkloadCertificates receivedAt(Instant now) {
    return new WorkloadCertificates(
        null, List.of(), ID, Duration.ZERO, null, Clock.fixed(now, ZoneOffset.UTC));
  }

  @Test
  void aShortLivedCertificateIsRenewedHalfWayThroughTheLifeItArrivedWith() {
    WorkloadCertificates.Bundle b = issued(Duration.ofMinutes(1));
    assertThat(b.notBefore()).isBefore(ISSUED); // the CA's backdating, which made this due at once
    for (int i = 0; i < 50; i++) {
      assertThat(receivedAt(ISSUED).renewalDelay(b)).isBetween(27_000L, 30_000L);
    }
  }

  @Test
  void aDayLongCertificateIsRenewedAfterAboutTwelveHours() {
    WorkloadCertificates.Bundle b = issued(Duration.ofHours(24));
    long hour = Duration.ofHours(1).toMillis();
    for (int i = 0; i < 50; i++) {
      assertThat(receivedAt(ISSUED).renewalDelay(b)).isBetween(12 * hour - 72 * 60_000, 12 * hour);
    }
  }

  @Test
  void aCertificateThatArrivesLateIsRenewedHalfWayThroughWhatIsLeft() {
    WorkloadCertificates.Bundle b = issued(Duration.ofMinutes(1));
    assertThat(receivedAt(ISSUED.plusSeconds(40)).renewalDelay(b)).isBetween(9_000L, 10_000L);
  }

  @Test
  void anExpiredOrNearlyExpiredCertificateWaitsASecondNotZero() {
    WorkloadCertificates.Bundle b = issued(Duration.ofMinutes(1));
    assertThat(receivedAt(ISSUED.plusSeconds(59)).renewalDelay(b))
        .isEqualTo(WorkloadCertificates.MIN_RENEWAL.toMillis());
    assertThat(receivedAt(ISSUED.plusSeconds(600)).renewalDelay(b))
        .isEqualTo(WorkloadCertificates.MIN_RENEWAL.toMillis());
  }

  @Test
  void theCaIsRetriedWithExponentialBackoffUpToThirtySecondsWhileTheCertificateHasTimeLeft() {
    WorkloadCertificates.Bundle b = issued(Duration.ofHours(24));
    WorkloadCertificates certs = receivedAt(ISSUED.plusSeconds(3600));
    for (int i = 0; i < 50; i++) {
      assertThat(certs.retryDelay(1, b)).isBetween(500L, 1_000L);
      assertThat(certs.retryDelay(3, b)).isBetween(2_000L, 4_000L);
      assertThat(certs.retryDelay(20, b)).isBetween(15_000L, 30_000L);
      assertThat(certs.retryDelay(20, null)).isBetween(15_000L, 30_000L);
    }
  }

  @Test
  void aCertificateNearItsEndIsRetriedWithinATenthOfWhatIsLeft() {
    // A CA back after a long outage must be tried again before the certificate in use expires:
    // with 60 s left, a 30 s backoff could outlive it.
    WorkloadCertificates.Bundle b = issued(Duration.ofMinutes(3));
    Instant end = b.notAfter();
    for (int i = 0; i < 50; i++) {
      assertThat(receivedAt(end.minusSeconds(60)).retryDelay(20, b)).isBetween(3_000L, 6_000L);
      assertThat(receivedAt(end.minusSeconds(5)).retryDelay(20, b)).isBetween(500L, 1_000L);
      assertThat(receivedAt(end.plusSeconds(5)).retryDelay(20, b)).isBetween(500L, 1_000L);
    }
  }
}
