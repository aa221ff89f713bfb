#!/usr/bin/env bash
# Pilot's push benchmark (issue: pilot). Builds pilot and the driver, then runs
# io.qmesh.bench.PilotPushBench: SERVICES services x ENDPOINTS endpoints, PROXIES simulated
# sidecars on ADS against the packaged pilot in its own process. Not part of the test suite.
#   bench/pilot-push.sh [services] [endpoints] [proxies]     (default 1000 3 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -pl pilot,bench -am package -DskipTests
exec java -Xmx2g -cp "bench/target/classes:bench/target/lib/*" io.qmesh.bench.PilotPushBench \
  pilot/target/quarkus-app/quarkus-run.jar "${1:-1000}" "${2:-3}" "${3:-2000}"
