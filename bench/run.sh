#!/usr/bin/env bash
# pgpulse vs Debian's prometheus-postgres-exporter, side by side on one throwaway PostgreSQL 15.
# Builds nothing: it measures an already built pgpulse (scripts/setup.sh builds build/pgpulse).
#
#   bench/run.sh            full run (~20 minutes on 2 vCPUs)
#   bench/run.sh --quick    smaller workloads, fewer scrapes (~5 minutes)
#
#   PGPULSE_BIN=/path/to/pgpulse     binary to measure (default: build/pgpulse of this repo)
#   PEER_BIN=/path/to/exporter       default /usr/bin/prometheus-postgres-exporter
#   BENCH_OUT=DIR                    results directory (default bench/results/<date>-<mode>)
#   BENCH_ONLY=statements            only the statements part (issue 15, ~3 minutes)
#
# Workloads: (a) 100 idle connections, (b) 1,000 connections (idle, idle in transaction, active),
# (c) one database with 10,000 tables, (d) 20 databases; the rls collector over 100 databases;
# the statements collector at 5,000 tracked statements beside postgres_exporter's
# pg_stat_statements query (issue 15). Results: DIR/results.json (everything) and
# DIR/summary.md (the tables quoted in docs/benchmarks.md); logs of every process in DIR/logs.
# No timed assertions: it reports.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

mode=full
case "${1:-}" in
  --quick) mode=quick ;;
  "") ;;
  *) sed -n '2,18p' "$0"; exit 2 ;;
esac

PGPULSE_BIN=${PGPULSE_BIN:-$repo/build/pgpulse}
PEER_BIN=${PEER_BIN:-/usr/bin/prometheus-postgres-exporter}
[ -x "$PGPULSE_BIN" ] || { echo "no pgpulse binary at $PGPULSE_BIN: run scripts/setup.sh first" >&2; exit 1; }

# The benchmark's own dependencies (scripts/setup.sh installs PostgreSQL 15 and the build deps).
PACKAGES=(postgresql-15 prometheus-postgres-exporter wrk python3 libpq5)
# shellcheck source=scripts/lib/packages.sh
. scripts/lib/packages.sh
ensure_packages "${PACKAGES[@]}"
[ -x "$PEER_BIN" ] || { echo "no postgres_exporter at $PEER_BIN" >&2; exit 1; }
PYTHON=/usr/bin/python3   # Debian's, whatever pyenv or venv is on PATH

out=${BENCH_OUT:-$repo/bench/results/$(date +%Y%m%d-%H%M%S)-$mode}
mkdir -p "$out"
pgdir=$(mktemp -d /tmp/pgpulse-bench-pg.XXXXXX)

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -n "${bench_pid:-}" ] && kill "$bench_pid" 2>/dev/null && wait "$bench_pid" 2>/dev/null
  "$repo/scripts/pg_test_server.sh" stop "$pgdir" || true
  rm -rf "$pgdir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# max_connections for workload (b); track_planning so server time counts planning too;
# client_connection_check_interval so sessions left in pg_sleep end when their client goes;
# autovacuum off so that no background work muddles the server CPU figures.
PGPULSE_TEST_PG_SETTINGS="max_connections=1200 shared_buffers=128MB max_locks_per_transaction=128
  pg_stat_statements.track_planning=on pg_stat_statements.max=10000
  client_connection_check_interval=1s log_min_messages=warning autovacuum=off" \
  "$repo/scripts/pg_test_server.sh" start "$pgdir"
# shellcheck disable=SC1091
. "$pgdir/env"

echo "==> results in $out"
flags=()
[ "$mode" = quick ] && flags=(--quick)
[ -n "${BENCH_ONLY:-}" ] && flags+=(--only "$BENCH_ONLY")
"$PYTHON" -B "$repo/bench/bench.py" --host "$PGPULSE_TEST_PGHOST" --port "$PGPULSE_TEST_PGPORT" \
  --pgpulse "$PGPULSE_BIN" --peer "$PEER_BIN" --out "$out" "${flags[@]}" \
  > >(tee "$out/bench.log") 2>&1 &
bench_pid=$!
wait "$bench_pid"
bench_pid=
echo "==> summary: $out/summary.md"
