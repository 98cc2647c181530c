#!/usr/bin/env bash
# Sets up and builds pgpulse, starts a demo PostgreSQL of its own (private port and socket
# directory under /tmp/pgpulse-demo, as the unprivileged "postgres" user) and leaves pgpulse
# serving http://127.0.0.1:9188/metrics in the background.
#
#   scripts/demo.sh             start (or restart) the demo
#   scripts/demo.sh --incident  the same, plus a scripted incident (scripts/demo_incident.sh): a
#                               leaking application, a long query holding a lock with queries
#                               queued behind it, an idle transaction and a tenant table with RLS
#                               off in a database that uses RLS; the signals show within a minute
#   scripts/demo.sh stop        stop the incident, pgpulse and the demo PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${PGPULSE_DEMO_DIR:-/tmp/pgpulse-demo}
listen=${PGPULSE_DEMO_LISTEN:-127.0.0.1:9188}

stop() {
  if [ -f "$demo/incident.pid" ]; then  # the workload and its psql sessions: one process group
    kill -TERM -- "-$(cat "$demo/incident.pid")" 2>/dev/null || true
    rm -f "$demo/incident.pid"
  fi
  if [ -f "$demo/pgpulse.pid" ]; then
    kill "$(cat "$demo/pgpulse.pid")" 2>/dev/null || true
    rm -f "$demo/pgpulse.pid"
  fi
  scripts/pg_test_server.sh stop "$demo" 2>/dev/null || true
}

incident=false
case "${1:-}" in
  stop)
    stop
    echo "demo stopped (data kept in $demo; rm -rf it to start afresh)"
    exit 0
    ;;
  --incident) incident=true ;;
  "") ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac

scripts/setup.sh
stop
scripts/pg_test_server.sh start "$demo"
# shellcheck disable=SC1091
. "$demo/env"
"$(pwd)/build/pgpulse" --version
$incident && scripts/demo_incident.sh setup
nohup "$(pwd)/build/pgpulse" --dsn "$PGPULSE_TEST_DSN" --target-name demo \
  --web.listen-address "$listen" --interval 5s >"$demo/pgpulse.log" 2>&1 &
echo $! >"$demo/pgpulse.pid"
for _ in $(seq 1 50); do
  curl -fsS "http://$listen/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$listen/healthz" >/dev/null || { cat "$demo/pgpulse.log"; exit 1; }
if $incident; then
  setsid scripts/demo_incident.sh run >"$demo/incident.log" 2>&1 &
  echo $! >"$demo/incident.pid"
fi
cat <<TXT

pgpulse is running (pid $(cat "$demo/pgpulse.pid")) against the demo PostgreSQL on port $PGPULSE_TEST_PGPORT.
  metrics:  curl http://$listen/metrics
  ready:    curl http://$listen/readyz
  log:      $demo/pgpulse.log
  psql:     psql "$PGPULSE_TEST_DSN"
  stop:     scripts/demo.sh stop
TXT
$incident || exit 0
cat <<TXT

A scripted incident runs against it (scripts/demo_incident.sh, log $demo/incident.log). Within a
minute, open http://$listen/ (the status page) and look for:
  - queries_and_locks: demo-report-job holds a lock on demo_shop's invoices inside a query that
    runs for an hour; three demo-web queries wait behind it (the blocking tree, with its pid);
  - idle: demo-billing-worker sits idle in transaction (its pid and the pg_terminate_backend
    to end it), and demo-leaky-api opens a connection every 5 s it never closes: a leak
    suspected after a minute or two, with the time until the server runs out of slots;
  - rls: demo_shop uses row-level security, but its tenant table public.invoices has it off.
The same from a terminal: build/pgpulse check --dsn "$PGPULSE_TEST_DSN" (exit code 2: critical),
curl -s http://$listen/diagnose, or curl -s http://$listen/metrics | grep -E
'pgpulse_(blocked_backends|idle_leak_suspected|rls_tables|longest_query)'. It stops with scripts/demo.sh stop.
TXT
