#!/usr/bin/env bash
# Soak test (not in CI): pgpulse against a churning workload for a long time, scraped every
# second, with its RSS, open file descriptors and threads sampled over time. The figures must stay
# flat; docs/soak.md has a run's results.
#
#   bench/soak.sh                     one hour, pgpulse from build/
#   DURATION=600 bench/soak.sh        ten minutes
#
# Settings (environment): DURATION seconds (3600), SAMPLE_EVERY seconds (10), PGPULSE (binary,
# default build/pgpulse), OUT (results directory, default bench/results/soak-<time>),
# PGPULSE_ARGS (extra flags), PGBENCH_CLIENTS (6), PGBENCH_RATE (100 tx/s), CHURN_RATE (30
# connections/s opened and closed by pgbench -C).
#
# Workload: pgbench at a steady rate on persistent connections; pgbench -C opening and closing a
# connection per transaction; short psql sessions with ever-changing application_name values
# (label churn, folded by labels.max_values); a session idle in transaction that comes and goes;
# a table with a tenant_id column created and dropped every 30s (the rls collector's scans).
# pgpulse polls every second (rls every 5s). Output: samples.csv, scrapes.log, pgpulse.log,
# summary.txt (also printed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

DURATION=${DURATION:-3600}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
PGPULSE=${PGPULSE:-$root/build/pgpulse}
OUT=${OUT:-$root/bench/results/soak-$(date +%Y%m%d-%H%M%S)}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-6}
PGBENCH_RATE=${PGBENCH_RATE:-100}
CHURN_RATE=${CHURN_RATE:-30}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

[ -x "$PGPULSE" ] || { echo "no pgpulse binary at $PGPULSE (build it: scripts/setup.sh)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

pgdir=$(mktemp -d /tmp/pgpulse-soak-pg.XXXXXX)
pids=()
cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  [ -n "${pgpulse_pid:-}" ] && kill "$pgpulse_pid" 2>/dev/null
  wait 2>/dev/null
  "$root/scripts/pg_test_server.sh" stop "$pgdir" >/dev/null 2>&1
  rm -rf "$pgdir"
}
trap cleanup EXIT INT TERM

echo "==> PostgreSQL in $pgdir"
PGPULSE_TEST_PG_SETTINGS="max_connections=200" scripts/pg_test_server.sh start "$pgdir" >/dev/null
# shellcheck disable=SC1091
. "$pgdir/env"
dsn="$PGPULSE_TEST_DSN"
psql_run() { "$PG_BIN/psql" "$dsn" -X -q -v ON_ERROR_STOP=1 "$@"; }
"$PG_BIN/pgbench" -i -q -s 5 "$dsn" >"$OUT/pgbench-init.log" 2>&1
psql_run -c "CREATE SCHEMA IF NOT EXISTS churn"

port=$(
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; break; }
  done
)
echo "==> pgpulse $("$PGPULSE" --version) on port $port for ${DURATION}s"
# shellcheck disable=SC2086
"$PGPULSE" --dsn "$dsn" --target-name soak --web.listen-address "127.0.0.1:$port" \
  --interval 1s --collector.rls.interval 5s --labels.max-values 20 ${PGPULSE_ARGS:-} \
  >"$OUT/pgpulse.log" 2>&1 &
pgpulse_pid=$!
for _ in $(seq 1 50); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

end=$((SECONDS + DURATION))

# Steady transactions on persistent connections, and a connection per transaction.
"$PG_BIN/pgbench" -n -c "$PGBENCH_CLIENTS" -j 2 -R "$PGBENCH_RATE" -T "$DURATION" "$dsn" \
  >"$OUT/pgbench-steady.log" 2>&1 &
pids+=($!)
"$PG_BIN/pgbench" -n -C -c 4 -j 1 -R "$CHURN_RATE" -T "$DURATION" "$dsn" \
  >"$OUT/pgbench-churn.log" 2>&1 &
pids+=($!)

# Label churn: short sessions, a new application_name each time (hundreds over the run).
(
  i=0
  while [ $SECONDS -lt $end ]; do
    i=$((i + 1))
    PGAPPNAME="churn-app-$((i % 500))" "$PG_BIN/psql" "$dsn" -X -q -c "SELECT pg_sleep(0.3)" \
      >/dev/null 2>&1 || true
    sleep 0.2
  done
) &
pids+=($!)

# An idle-in-transaction session for 20s of every 60s, and schema churn for the rls scans.
(
  while [ $SECONDS -lt $end ]; do
    PGAPPNAME=soak-idle-tx "$PG_BIN/psql" "$dsn" -X -q \
      -c "BEGIN; SELECT 1; SELECT pg_sleep(20); COMMIT;" >/dev/null 2>&1 || true
    sleep 40
  done
) &
pids+=($!)
(
  n=0
  while [ $SECONDS -lt $end ]; do
    n=$((n + 1))
    "$PG_BIN/psql" "$dsn" -X -q -c "CREATE TABLE churn.t$((n % 10)) (id int, tenant_id int);
      INSERT INTO churn.t$((n % 10)) SELECT g, g % 7 FROM generate_series(1, 1000) g;" \
      >/dev/null 2>&1 || true
    sleep 15
    "$PG_BIN/psql" "$dsn" -X -q -c "DROP TABLE IF EXISTS churn.t$((n % 10))" >/dev/null 2>&1 || true
    sleep 15
  done
) &
pids+=($!)

# The scraper: /metrics every second (timed), /activity, /tables and /readyz every 10th time.
(
  i=0
  while [ $SECONDS -lt $end ]; do
    i=$((i + 1))
    line=$(curl -s -o /dev/null -w "%{http_code} %{time_total} %{size_download}" \
      --max-time 5 "http://127.0.0.1:$port/metrics" || echo "000 5 0")
    echo "$SECONDS $line"
    if [ $((i % 10)) -eq 0 ]; then
      for path in /activity /tables /readyz; do
        curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port$path" || true
      done
    fi
    sleep 1
  done
) >"$OUT/scrapes.log" &
pids+=($!)

# The sampler.
echo "elapsed_s,rss_kib,fds,threads,series,client_backends" >"$OUT/samples.csv"
started=$SECONDS
while [ $SECONDS -lt $end ]; do
  if ! kill -0 "$pgpulse_pid" 2>/dev/null; then
    echo "pgpulse died; its log:" >&2
    tail -20 "$OUT/pgpulse.log" >&2
    exit 1
  fi
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pgpulse_pid/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$pgpulse_pid/status")
  fds=$(find "/proc/$pgpulse_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  metrics=$(curl -s --max-time 5 "http://127.0.0.1:$port/metrics" || true)
  series=$(printf '%s\n' "$metrics" | grep -vc '^#' || true)
  backends=$(printf '%s\n' "$metrics" | awk '/^pgpulse_client_backends/ {print $2}')
  echo "$((SECONDS - started)),$rss,$fds,$threads,$series,${backends:-}" >>"$OUT/samples.csv"
  sleep "$SAMPLE_EVERY"
done

# Summary: first, min, max and last of each figure, and the RSS trend over the second half.
awk -F, -v duration="$DURATION" '
  NR == 1 { next }
  {
    n++; t[n] = $1; rss[n] = $2; fds[n] = $3; thr[n] = $4; ser[n] = $5
    if (n == 1 || $2 < rmin) rmin = $2; if ($2 > rmax) rmax = $2
    if (n == 1 || $3 < fmin) fmin = $3; if ($3 > fmax) fmax = $3
    if (n == 1 || $4 < tmin) tmin = $4; if ($4 > tmax) tmax = $4
    if (n == 1 || $5 < smin) smin = $5; if ($5 > smax) smax = $5
  }
  END {
    half = int(n / 2) + 1; m = 0; sx = sy = sxx = sxy = 0
    for (i = half; i <= n; i++) { m++; sx += t[i]; sy += rss[i]; sxx += t[i] * t[i]; sxy += t[i] * rss[i] }
    slope = (m > 1 && m * sxx - sx * sx != 0) ? (m * sxy - sx * sy) / (m * sxx - sx * sx) * 3600 : 0
    printf "duration: %ds, %d samples\n", duration, n
    printf "RSS KiB: first %d, min %d, max %d, last %d; second-half trend %+.0f KiB/hour\n", rss[1], rmin, rmax, rss[n], slope
    printf "open fds: first %d, min %d, max %d, last %d\n", fds[1], fmin, fmax, fds[n]
    printf "threads: first %d, min %d, max %d, last %d\n", thr[1], tmin, tmax, thr[n]
    printf "series per scrape: min %d, max %d\n", smin, smax
  }' "$OUT/samples.csv" >"$OUT/summary.txt"
awk '{ n++; if ($2 != "200") bad++; if ($3 > max) max = $3; sum += $3 }
     END { printf "scrapes: %d, failed %d, mean %.1f ms, max %.1f ms\n", n, bad, n ? sum / n * 1000 : 0, max * 1000 }' \
  "$OUT/scrapes.log" >>"$OUT/summary.txt"
grep -h "tps = \|number of transactions actually processed" "$OUT"/pgbench-*.log \
  >>"$OUT/summary.txt" 2>/dev/null || true
echo "pgpulse log: $(grep -c ' warn\| error' "$OUT/pgpulse.log" || true) warnings/errors" \
  >>"$OUT/summary.txt"
echo "==> $OUT"
cat "$OUT/summary.txt"
