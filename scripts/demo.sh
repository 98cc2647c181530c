#!/usr/bin/env bash
# Sets up and builds pgpulse, starts a demo PostgreSQL of its own (private port and socket
# directory under /tmp/pgpulse-demo, as the unprivileged "postgres" user) and leaves pgpulse
# serving http://127.0.0.1:9188/metrics in the background.
#
#   scripts/demo.sh          start (or restart) the demo
#   scripts/demo.sh stop     stop pgpulse and the demo PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${PGPULSE_DEMO_DIR:-/tmp/pgpulse-demo}
listen=${PGPULSE_DEMO_LISTEN:-127.0.0.1:9188}

stop() {
  if [ -f "$demo/pgpulse.pid" ]; then
    kill "$(cat "$demo/pgpulse.pid")" 2>/dev/null || true
    rm -f "$demo/pgpulse.pid"
  fi
  scripts/pg_test_server.sh stop "$demo" 2>/dev/null || true
}

if [ "${1:-}" = "stop" ]; then
  stop
  echo "demo stopped (data kept in $demo; rm -rf it to start afresh)"
  exit 0
fi

scripts/setup.sh
stop
scripts/pg_test_server.sh start "$demo"
# shellcheck disable=SC1091
. "$demo/env"
"$(pwd)/build/pgpulse" --version
nohup "$(pwd)/build/pgpulse" --dsn "$PGPULSE_TEST_DSN" --target-name demo \
  --web.listen-address "$listen" --interval 5s >"$demo/pgpulse.log" 2>&1 &
echo $! >"$demo/pgpulse.pid"
for _ in $(seq 1 50); do
  curl -fsS "http://$listen/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$listen/healthz" >/dev/null || { cat "$demo/pgpulse.log"; exit 1; }
cat <<TXT

pgpulse is running (pid $(cat "$demo/pgpulse.pid")) against the demo PostgreSQL on port $PGPULSE_TEST_PGPORT.
  metrics:  curl http://$listen/metrics
  ready:    curl http://$listen/readyz
  log:      $demo/pgpulse.log
  psql:     psql "$PGPULSE_TEST_DSN"
  stop:     scripts/demo.sh stop
TXT
