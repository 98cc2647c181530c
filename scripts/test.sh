#!/usr/bin/env bash
# Installs, builds and runs every test: unit tests, integration tests against a throwaway
# PostgreSQL 15 started here on a free port (stopped on exit, whatever happens), the integration
# tests tagged [matrix] against each other supported major (13, 14, 16, 17, 18; one throwaway
# server at a time, from scripts/pg_versions.sh), the deploy files against real Prometheus and
# Alertmanager, the short incident scenarios (tests/scenarios/run.sh --short), then the unit and
# integration tests again under ASan/UBSan/LSan and TSan and the fuzz targets for a bounded time
# (those three builds compile in the background meanwhile). CI runs exactly this.
#
#   scripts/test.sh
#   PGPULSE_QUICK_TESTS=1 scripts/test.sh    while developing: skips fuzzing and sanitizers
#   PGPULSE_PG_MAJORS="13 18" scripts/test.sh   the other majors to test (default 13 14 16 17 18;
#                                            empty skips them)
#   FUZZ_SECONDS=300 scripts/test.sh         fuzz longer (default 30 s per target)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# chromium: the status page is checked in a real headless browser. pgbouncer: the pgbouncer
# targets' tests run a real one (scripts/pgbouncer_test_server.sh; its system service is never
# started or used). python3-sqlalchemy and python3-psycopg2: the scenario suite's client
# application (tests/scenarios/). dpkg-dev: the build is the release build, with
# dpkg-buildflags' hardening flags, and the deploy test packages it (one compile instead of two).
# The rest is what the later phases' scripts would install for themselves (deploy, scenarios,
# fuzzing), all in this one apt run: the sanitizer and fuzz builds run in the background while
# those phases run, and two apt-gets at once would fight over dpkg's lock.
test_packages="chromium pgbouncer python3-sqlalchemy python3-psycopg2 python3-yaml dpkg-dev
  prometheus-alertmanager docker-compose binutils systemd procps shellcheck lintian man-db
  python3-prometheus-client bsdextrautils"
[ -n "${PGPULSE_QUICK_TESTS:-}" ] || test_packages+=" clang libclang-rt-14-dev"
EXTRA_PACKAGES="${test_packages//$'\n'/ } ${EXTRA_PACKAGES:-}" \
  CMAKE_ARGS="-DPGPULSE_DPKG_BUILDFLAGS=ON ${CMAKE_ARGS:-}" scripts/setup.sh
echo "==> set up and built (at ${SECONDS}s)"

echo "==> unit tests (at ${SECONDS}s)"
(cd build && ctest -L unit --output-on-failure -j"$(nproc)")

background_pid=""
background=$(mktemp -d /tmp/pgpulse-background-builds.XXXXXX)
pgdir=$(mktemp -d /tmp/pgpulse-test-pg.XXXXXX)
matrix_dirs=()   # the other majors' servers (each stopped and removed once tested)
cleanup() {
  local dir
  if [ -n "$background_pid" ] && kill -0 "$background_pid" 2>/dev/null; then
    kill -TERM -- "-$background_pid" 2>/dev/null || true
  fi
  rm -rf "$background"
  "$root/scripts/pgbouncer_test_server.sh" stop "$pgdir/pgbouncer" || true
  for dir in "$pgdir" "${matrix_dirs[@]}"; do
    [ -d "$dir" ] || continue
    "$root/scripts/pg_test_server.sh" stop "$dir" || true
    rm -rf "$dir"
  done
}
trap cleanup EXIT

# The sanitizer builds (build-asan, build-tsan) and the fuzz targets (build-fuzz) compile in the
# background, at the lowest CPU priority, while the integration, deploy and scenario phases run:
# those mostly wait (on servers, scrapes, alert timers), and the compiles would otherwise add a
# quarter of an hour after them. Each build leaves NAME.ok or NAME.failed and NAME.log in
# $background; the phase that needs a build waits for its file (wait_for_build), so the ASan
# tests run while TSan still compiles.
if [ -z "${PGPULSE_QUICK_TESTS:-}" ]; then
  echo "==> building build-asan, build-tsan and build-fuzz in the background (at ${SECONDS}s)"
  # Its own session (setsid), so that cleanup ends the compilers too, not only this shell.
  # shellcheck disable=SC2016  # expanded by the inner shell
  BACKGROUND=$background setsid nice -n 19 bash -c '
    build() {
      local name=$1 started=$SECONDS
      shift
      if "$@" >"$BACKGROUND/$name.log" 2>&1; then
        echo "$((SECONDS - started))" >"$BACKGROUND/$name.ok"
      else
        touch "$BACKGROUND/$name.failed"
      fi
    }
    build asan env BUILD_DIR=build-asan CMAKE_ARGS=-DPGPULSE_SANITIZE=address scripts/setup.sh
    build tsan env BUILD_DIR=build-tsan CMAKE_ARGS=-DPGPULSE_SANITIZE=thread scripts/setup.sh
    build fuzz env FUZZ_BUILD_ONLY=1 scripts/test_fuzz.sh' &
  background_pid=$!
fi
wait_for_build() {  # wait_for_build NAME: until the background build NAME has finished
  local name=$1 waited=$SECONDS
  while [ ! -f "$background/$name.ok" ] && [ ! -f "$background/$name.failed" ]; do
    kill -0 "$background_pid" 2>/dev/null || break
    sleep 2
  done
  if [ ! -f "$background/$name.ok" ]; then
    echo "!! the background build $name failed; the end of its log:" >&2
    tail -60 "$background/$name.log" >&2 || true
    exit 1
  fi
  echo "==> background build $name: $(cat "$background/$name.ok")s of compiling, waited $((SECONDS - waited))s for it"
}

echo "==> starting a test PostgreSQL in $pgdir (at ${SECONDS}s)"
scripts/pg_test_server.sh start "$pgdir"
# shellcheck disable=SC1091
. "$pgdir/env"
echo "==> starting a test PgBouncer in front of it (at ${SECONDS}s)"
scripts/pgbouncer_test_server.sh start "$pgdir/pgbouncer"
# shellcheck disable=SC1091
. "$pgdir/pgbouncer/env"

echo "==> integration tests on PostgreSQL 15 (at ${SECONDS}s)"
(cd build && ctest -L integration --output-on-failure)

# One other major: a throwaway server of its own, the [matrix] tests (tests/CMakeLists.txt) with
# its env in a subshell (15's stays for the phases below), then stopped and removed. Called as an
# `if` condition, where set -e does not apply: every step checks for itself.
matrix_major() {
  local major=$1 dir bin rc=0
  dir=$(mktemp -d "/tmp/pgpulse-test-pg$major.XXXXXX") || return 1
  matrix_dirs+=("$dir")
  bin=$(scripts/pg_versions.sh bindir "$major") || return 1
  PG_BIN=$bin scripts/pg_test_server.sh start "$dir" || return 1
  # shellcheck disable=SC1091
  (
    . "$dir/env" &&
      if [ "$PGPULSE_TEST_PGMAJOR" != "$major" ]; then
        echo "!! $dir runs PostgreSQL $PGPULSE_TEST_PGMAJOR, not $major" >&2
        exit 1
      fi &&
      cd build && ctest -L matrix --output-on-failure
  ) || rc=$?
  if [ "$rc" != 0 ]; then
    echo "--- PostgreSQL $major server log, last 30 lines:"
    tail -30 "$dir/log/postgresql.log" || true
  fi
  scripts/pg_test_server.sh stop "$dir" || true
  rm -rf "$dir"
  return "$rc"
}

read -r -a majors <<<"${PGPULSE_PG_MAJORS-13 14 16 17 18}"
if [ "${#majors[@]}" = 0 ]; then
  echo "==> PGPULSE_PG_MAJORS empty: no integration tests on other PostgreSQL majors (at ${SECONDS}s)"
else
  matrix_started=$SECONDS
  major_list=$(printf '%s, ' "${majors[@]}")
  echo "==> integration tests on PostgreSQL ${major_list%, } (at ${SECONDS}s)"
  scripts/pg_versions.sh fetch "${majors[@]}"
  failed=()
  results=()
  for major in "${majors[@]}"; do
    started=$SECONDS
    echo "==> PostgreSQL $major: ctest -L matrix (at ${SECONDS}s)"
    if matrix_major "$major"; then result=passed; else result=FAILED; failed+=("$major"); fi
    results+=("PostgreSQL $major: $result in $((SECONDS - started))s")
    echo "==> ${results[-1]}"
  done
  echo "==> integration tests on PostgreSQL ${major_list%, }: $((SECONDS - matrix_started))s"
  printf '    %s\n' "${results[@]}"
  if [ "${#failed[@]}" != 0 ]; then
    echo "!! integration tests failed on PostgreSQL ${failed[*]}" >&2
    exit 1
  fi
fi

echo "==> deploy: alert rules (promtool), compose, Kubernetes, package, real Prometheus end to end (at ${SECONDS}s)"
DEB_FROM_BUILD=build bash scripts/test_deploy.sh
echo "==> deploy done (at ${SECONDS}s)"

# Incidents replayed end to end (docs/scenarios.md): SQLAlchemy pools per replica, a real pgpulse,
# Prometheus with the shipped rules and Alertmanager; the short subset (about 3.5 minutes).
scenarios_started=$SECONDS
echo "==> scenarios (short) (at ${SECONDS}s)"
tests/scenarios/run.sh --short
echo "==> scenarios (short): $((SECONDS - scenarios_started))s"

if [ -n "${PGPULSE_QUICK_TESTS:-}" ]; then
  echo "==> PGPULSE_QUICK_TESTS set: fuzzing and sanitizer runs skipped (CI runs them) (at ${SECONDS}s)"
else
  echo "==> sanitizers: ASan/UBSan/LSan, then TSan (at ${SECONDS}s)"
  wait_for_build asan
  bash scripts/test_sanitizers.sh asan
  wait_for_build tsan
  bash scripts/test_sanitizers.sh tsan
  echo "==> fuzzing: every target for ${FUZZ_SECONDS:-30}s (at ${SECONDS}s)"
  wait_for_build fuzz
  FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash scripts/test_fuzz.sh
fi

echo "==> all tests passed in $((SECONDS / 60)) min $((SECONDS % 60)) s"
