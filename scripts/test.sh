#!/usr/bin/env bash
# Installs, builds and runs every test: unit tests, then integration tests against a throwaway
# PostgreSQL started here on a free port (stopped on exit, whatever happens).
#
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# chromium: the status page is checked in a real headless browser.
EXTRA_PACKAGES="chromium ${EXTRA_PACKAGES:-}" scripts/setup.sh

echo "==> unit tests"
(cd build && ctest -L unit --output-on-failure -j"$(nproc)")

pgdir=$(mktemp -d /tmp/pgpulse-test-pg.XXXXXX)
cleanup() {
  "$root/scripts/pg_test_server.sh" stop "$pgdir" || true
  rm -rf "$pgdir"
}
trap cleanup EXIT
echo "==> starting a test PostgreSQL in $pgdir"
scripts/pg_test_server.sh start "$pgdir"
# shellcheck disable=SC1091
. "$pgdir/env"

echo "==> integration tests"
(cd build && ctest -L integration --output-on-failure)

echo "==> deploy: alert rules (promtool), compose, Kubernetes, package, real Prometheus end to end"
bash scripts/test_deploy.sh

echo "==> all tests passed"
