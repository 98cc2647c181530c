#!/usr/bin/env bash
# Installs, builds and runs every test: unit tests, integration tests against a throwaway
# PostgreSQL started here on a free port (stopped on exit, whatever happens), the deploy files
# against real Prometheus and Alertmanager, then the fuzz targets for a bounded time and the unit
# and integration tests again under ASan/UBSan/LSan and TSan. CI runs exactly this.
#
#   scripts/test.sh
#   PGPULSE_QUICK_TESTS=1 scripts/test.sh    while developing: skips fuzzing and sanitizers
#   FUZZ_SECONDS=300 scripts/test.sh         fuzz longer (default 30 s per target)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# chromium: the status page is checked in a real headless browser. pgbouncer: the pgbouncer
# targets' tests run a real one (scripts/pgbouncer_test_server.sh; its system service is never
# started or used).
EXTRA_PACKAGES="chromium pgbouncer ${EXTRA_PACKAGES:-}" scripts/setup.sh

echo "==> unit tests (at ${SECONDS}s)"
(cd build && ctest -L unit --output-on-failure -j"$(nproc)")

pgdir=$(mktemp -d /tmp/pgpulse-test-pg.XXXXXX)
cleanup() {
  "$root/scripts/pgbouncer_test_server.sh" stop "$pgdir/pgbouncer" || true
  "$root/scripts/pg_test_server.sh" stop "$pgdir" || true
  rm -rf "$pgdir"
}
trap cleanup EXIT
echo "==> starting a test PostgreSQL in $pgdir (at ${SECONDS}s)"
scripts/pg_test_server.sh start "$pgdir"
# shellcheck disable=SC1091
. "$pgdir/env"
echo "==> starting a test PgBouncer in front of it (at ${SECONDS}s)"
scripts/pgbouncer_test_server.sh start "$pgdir/pgbouncer"
# shellcheck disable=SC1091
. "$pgdir/pgbouncer/env"

echo "==> integration tests (at ${SECONDS}s)"
(cd build && ctest -L integration --output-on-failure)

echo "==> deploy: alert rules (promtool), compose, Kubernetes, package, real Prometheus end to end (at ${SECONDS}s)"
bash scripts/test_deploy.sh

if [ -n "${PGPULSE_QUICK_TESTS:-}" ]; then
  echo "==> PGPULSE_QUICK_TESTS set: fuzzing and sanitizer runs skipped (CI runs them) (at ${SECONDS}s)"
else
  echo "==> fuzzing: every target for ${FUZZ_SECONDS:-30}s (at ${SECONDS}s)"
  FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash scripts/test_fuzz.sh
  echo "==> sanitizers: ASan/UBSan/LSan, then TSan (at ${SECONDS}s)"
  bash scripts/test_sanitizers.sh
fi

echo "==> all tests passed in $((SECONDS / 60)) min $((SECONDS % 60)) s"
