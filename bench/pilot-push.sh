#!/usr/bin/env bash
# Pilot's push benchmark (issue: pilot). Builds pilot and the driver, then runs
# io.qmesh.bench.PilotPushBench: SERVICES services x ENDPOINTS endpoints, PROXIES simulated
# sidecars on ADS against the packaged pilot in its own process. Not part of the test suite.
#   bench/pilot-push.sh [services] [endpoints] [proxies]     (default 1000 3 2000)
# QMESH_BENCH_OPTS passes system properties to the driver: -Dbench.rounds=N, -Dbench.jfr=FILE,
# -Dbench.pilotJvm="OPTIONS" (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -pl pilot,bench -am package -DskipTests
# shellcheck disable=SC2086
exec java -Xmx2g ${QMESH_BENCH_OPTS:-} -cp "bench/target/classes:bench/target/lib/*" io.qmesh.bench.PilotPushBench \
  pilot/target/quarkus-app/quarkus-run.jar "${1:-1000}" "${2:-3}" "${3:-2000}"
