package io.qmesh.ca;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.NumericDate;
import org.jose4j.jwt.consumer.InvalidJwtException;
import org.jose4j.jwt.consumer.JwtConsumer;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;
import org.jose4j.jwt.consumer.JwtContext;
import org.jose4j.keys.HmacKey;
import org.jose4j.lang.JoseException;

/**
 * The laptop mode's workload credential: a JWT (HS256) shaped like a Kubernetes service account
 * token ({@code sub: system:serviceaccount:<ns>:<sa>}, issuer {@code qmesh}, audience {@code
 * istio-ca}), signed with a key only the mesh's owner can read ({@code <state>/ca/token-key}).
 * {@code qmesh up}/{@code run} issue one per workload; the CA takes the identity from it, never
 * from the request.
 */
public final class BootstrapTokens {

  public static final String ISSUER = "qmesh";
  public static final String AUDIENCE = "istio-ca";
  static final String SUBJECT_PREFIX = "system:serviceaccount:";

  /** An identity a credential names. */
  public record Identity(String namespace, String serviceAccount) {
    public String spiffeId() {
      return io.qmesh.api.MeshNames.spiffeId(namespace, serviceAccount);
    }
  }

  /** A credential the CA does not accept, with the reason to tell the caller. */
  public static final class InvalidCredential extends Exception {
    public InvalidCredential(String message) {
      super(message);
    }
  }

  private final HmacKey key;
  private final Clock clock;

  public BootstrapTokens(byte[] key, Clock clock) {
    this.key = new HmacKey(key);
    this.clock = clock;
  }

  /** The key in {@code file}, created there (32 random bytes, owner-only) when absent. */
  public static byte[] loadOrCreateKey(Path file) {
    try {
      if (!Files.exists(file)) {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        try {
          SecureFiles.write(file, Base64.getEncoder().encodeToString(k) + "\n", false);
        } catch (FileAlreadyExistsException raced) {
          // Another process made it first: use theirs.
        }
      }
      byte[] k =
          Base64.getDecoder().decode(Files.readString(file, StandardCharsets.US_ASCII).trim());
      if (k.length < 32) {
        throw new IllegalStateException(file + ": the token key must be at least 32 bytes");
      }
      return k;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read or create the token key " + file + ": " + e.getMessage(), e);
    }
  }

  /** A credential for a workload's identity, valid for {@code ttl}. */
  public String issue(String namespace, String serviceAccount, Duration ttl) {
    JwtClaims claims = new JwtClaims();
    claims.setIssuer(ISSUER);
    claims.setAudience(AUDIENCE);
    claims.setSubject(SUBJECT_PREFIX + namespace + ":" + serviceAccount);
    long now = clock.millis() / 1000;
    claims.setIssuedAt(NumericDate.fromSeconds(now));
    claims.setExpirationTime(NumericDate.fromSeconds(now + ttl.toSeconds()));
    JsonWebSignature jws = new JsonWebSignature();
    jws.setPayload(claims.toJson());
    jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.HMAC_SHA256);
    jws.setKey(key);
    try {
      return jws.getCompactSerialization();
    } catch (JoseException e) {
      throw new IllegalStateException("cannot sign a token: " + e.getMessage(), e);
    }
  }

  /**
   * The identity a credential names.
   *
   * @throws InvalidCredential saying why: malformed, wrong signature, expired, wrong audience or
   *     subject
   */
  public Identity verify(String token) throws InvalidCredential {
    JwtConsumer consumer =
        new JwtConsumerBuilder()
            .setRequireExpirationTime()
            .setExpectedIssuer(ISSUER)
            .setExpectedAudience(AUDIENCE)
            .setVerificationKey(key)
            .setJwsAlgorithmConstraints(
                org.jose4j.jwa.AlgorithmConstraints.ConstraintType.PERMIT,
                AlgorithmIdentifiers.HMAC_SHA256)
            .setEvaluationTime(NumericDate.fromMilliseconds(clock.millis()))
            .build();
    JwtClaims claims;
    try {
      JwtContext ctx = consumer.process(token);
      claims = ctx.getJwtClaims();
    } catch (InvalidJwtException e) {
      if (e.hasExpired()) {
        throw new InvalidCredential("the credential has expired");
      }
      String reason =
          e.getErrorDetails().isEmpty()
              ? e.getMessage()
              : e.getErrorDetails().get(0).getErrorMessage();
      throw new InvalidCredential("the credential is not valid: " + reason);
    }
    String sub;
    try {
      sub = claims.getSubject();
    } catch (org.jose4j.jwt.MalformedClaimException e) {
      throw new InvalidCredential("the credential's subject is malformed");
    }
    String[] parts =
        sub == null || !sub.startsWith(SUBJECT_PREFIX)
            ? new String[0]
            : sub.substring(SUBJECT_PREFIX.length()).split(":");
    if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
      throw new InvalidCredential(
          "the credential's subject '" + sub + "' names no service account");
    }
    return new Identity(parts[0], parts[1]);
  }
}
