package io.qmesh.cli;

/** A failure the user can act on: its message is printed as is and the command exits with 1. */
final class Failure extends RuntimeException {

  Failure(String message) {
    super(message);
  }

  Failure(String message, Throwable cause) {
    super(message, cause);
  }
}
