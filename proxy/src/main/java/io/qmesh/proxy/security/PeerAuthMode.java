package io.qmesh.proxy.security;

/**
 * What an inbound port accepts, from the PeerAuthentication in force (as pilot writes it into the
 * port's filter chains: a TLS chain, a plaintext chain, or both).
 */
public enum PeerAuthMode {
  /** Mutual TLS only: plaintext connections are refused. */
  STRICT,
  /** Both, told apart per connection by its first bytes (a TLS ClientHello or not). */
  PERMISSIVE,
  /** Plaintext only: the bytes go to the app as they come. */
  DISABLE
}
