package io.qmesh.proxy.listener;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/** Envoy's {@code x-request-id}: a random (version 4) UUID, drawn without a lock. */
final class RequestIds {

  private RequestIds() {}

  static String next() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = (r.nextLong() & ~0xF000L) | 0x4000L;
    long lo = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(hi, lo).toString();
  }
}
