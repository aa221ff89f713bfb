package io.qmesh.bookinfo.productpage;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The login session kept in productpage's {@code session} cookie: the user name, signed with
 * HMAC-SHA256 so that a client cannot claim to be someone else by editing the cookie.
 */
public final class Session {

  /** The cookie's name. */
  public static final String COOKIE = "session";

  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder B64D = Base64.getUrlDecoder();

  private final SecretKeySpec key;

  public Session(Optional<String> secret) {
    byte[] bytes;
    if (secret.isPresent()) {
      bytes = secret.get().getBytes(StandardCharsets.UTF_8);
    } else {
      bytes = new byte[32];
      new SecureRandom().nextBytes(bytes);
    }
    this.key = new SecretKeySpec(bytes, "HmacSHA256");
  }

  /** The cookie value for a logged-in user. */
  public String encode(String user) {
    String payload = B64.encodeToString(user.getBytes(StandardCharsets.UTF_8));
    return payload + "." + sign(payload);
  }

  /** The user a cookie value names, empty when absent, malformed or not signed by us. */
  public Optional<String> decode(String cookie) {
    if (cookie == null) {
      return Optional.empty();
    }
    int dot = cookie.indexOf('.');
    if (dot <= 0) {
      return Optional.empty();
    }
    String payload = cookie.substring(0, dot);
    byte[] expected = sign(payload).getBytes(StandardCharsets.US_ASCII);
    byte[] actual = cookie.substring(dot + 1).getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(expected, actual)) {
      return Optional.empty();
    }
    try {
      return Optional.of(new String(B64D.decode(payload), StandardCharsets.UTF_8))
          .filter(u -> !u.isEmpty());
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private String sign(String payload) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return B64.encodeToString(mac.doFinal(payload.getBytes(StandardCharsets.US_ASCII)));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
