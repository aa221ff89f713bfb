package io.qmesh.bookinfo.productpage;

import io.qmesh.bookinfo.common.ForwardedHeaders;
import jakarta.ws.rs.core.HttpHeaders;
import java.util.Map;
import java.util.Optional;

/** The headers productpage sends upstream: the propagated set, with end-user from the session. */
final class OutgoingHeaders {

  private OutgoingHeaders() {}

  static Map<String, String> of(HttpHeaders in, Optional<String> user) {
    Map<String, String> out = ForwardedHeaders.select(in::getHeaderString);
    // The session is the only source of end-user here: a client must not pick its own identity.
    out.remove(ForwardedHeaders.END_USER);
    user.ifPresent(u -> out.put(ForwardedHeaders.END_USER, u));
    return out;
  }
}
