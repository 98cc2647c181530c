#!/usr/bin/env bash
# pgpulse under sanitizers, against a throwaway PostgreSQL started here:
#   1. AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer (build-asan/): the unit
#      tests and every integration test (they spawn build-asan/pgpulse, instrumented too);
#   2. ThreadSanitizer (build-tsan/): the unit tests and the integration tests where threads meet
#      (HTTP server, collectors and scheduler, faults, reloads).
# Reports go to files (log_path) as well as failing the process, and any report fails the run:
# a pgpulse killed at the end of a test would otherwise take its report with it.
#
#   scripts/test_sanitizers.sh            both
#   scripts/test_sanitizers.sh asan       one of them
#   scripts/test_sanitizers.sh tsan
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
which=${1:-all}

# Integration tests that exercise concurrency: the HTTP server's threads, the collector threads
# publishing while scrapes read, reloads and shutdown interrupting queries.
TSAN_TESTS=${TSAN_TESTS:-"http abuse|security - TLS|security - a renewed|faults -|pgpulse connects|held client|dead database|SIGTERM|SIGHUP|one target|pg_sleep|LOCK TABLE|RLS statuses|hostile|pgbouncer target|PgBouncer killed"}

reports=$(mktemp -d /tmp/pgpulse-sanitizer-reports.XXXXXX)
pgdir=$(mktemp -d /tmp/pgpulse-sanitizer-pg.XXXXXX)
cleanup() {
  "$root/scripts/pgbouncer_test_server.sh" stop "$pgdir/pgbouncer" >/dev/null 2>&1 || true
  "$root/scripts/pg_test_server.sh" stop "$pgdir" >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap cleanup EXIT

timings=()
phase() {  # phase NAME COMMAND...: runs and times one step
  local name=$1 started=$SECONDS
  shift
  echo "==> $name"
  "$@"
  timings+=("$name: $((SECONDS - started))s")
}

check_reports() {
  local kind=$1
  if compgen -G "$reports/*" >/dev/null; then
    echo "!! $kind reports:" >&2
    for report in "$reports"/*; do
      echo "--- $report" >&2
      head -60 "$report" >&2
    done
    exit 1
  fi
  echo "==> no $kind reports"
}

start_postgres() {
  if [ ! -f "$pgdir/env" ]; then
    scripts/pg_test_server.sh start "$pgdir"
  fi
  # shellcheck disable=SC1091
  . "$pgdir/env"
  # The pgbouncer targets' tests need a PgBouncer in front of it (installed by scripts/test.sh).
  if [ -x /usr/sbin/pgbouncer ]; then
    scripts/pgbouncer_test_server.sh start "$pgdir/pgbouncer"
    # shellcheck disable=SC1091
    . "$pgdir/pgbouncer/env"
  fi
}

run_asan() {
  phase "asan: build (build-asan)" env BUILD_DIR=build-asan \
    CMAKE_ARGS="-DPGPULSE_SANITIZE=address" scripts/setup.sh
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:log_path=$reports/asan"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
  export LSAN_OPTIONS="log_path=$reports/lsan"
  phase "asan: unit tests" bash -c "cd build-asan && ctest -L unit --output-on-failure -j$(nproc)"
  start_postgres
  phase "asan: integration tests" bash -c "cd build-asan && ctest -L integration --output-on-failure"
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
  check_reports "ASan/UBSan/LSan"
}

run_tsan() {
  phase "tsan: build (build-tsan)" env BUILD_DIR=build-tsan \
    CMAKE_ARGS="-DPGPULSE_SANITIZE=thread" scripts/setup.sh
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan"
  phase "tsan: unit tests" bash -c "cd build-tsan && ctest -L unit --output-on-failure -j$(nproc)"
  start_postgres
  phase "tsan: integration tests" bash -c \
    "cd build-tsan && ctest -L integration -R '$TSAN_TESTS' --output-on-failure"
  unset TSAN_OPTIONS
  check_reports "TSan"
}

case "$which" in
  asan) run_asan ;;
  tsan) run_tsan ;;
  all) run_asan; run_tsan ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
echo "==> sanitizer runs passed"
printf '    %s\n' "${timings[@]}"
