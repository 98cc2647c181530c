#!/usr/bin/env bash
# The scripted incident of `scripts/demo.sh --incident`, against the demo PostgreSQL (its env
# sourced by the caller): the four connection incidents pgpulse is for, each from its own
# psql sessions with an application_name that says which it is. Runs until killed (demo.sh stop
# kills its process group); prints nothing after the setup.
#
#   scripts/demo_incident.sh setup   the tenant database (before pgpulse starts: its first
#                                    catalog scan sees it)
#   scripts/demo_incident.sh run     the workload, in the foreground
set -euo pipefail
dsn=${PGPULSE_TEST_DSN:?source the demo PostgreSQL env first}
app_dsn="${dsn/dbname=postgres/dbname=demo_shop}"
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$@" >/dev/null; }

# A session that runs `sql` and then stays open (idle, or idle in transaction if it BEGAN) as
# long as the workload runs: psql waits on its stdin.
hold() {
  local app=$1 sql=$2
  (echo "$sql"; while sleep 3600; do :; done) | PGAPPNAME=$app psql -X -q "$app_dsn" >/dev/null 2>&1 &
}

setup() {
  psql_ "$dsn" -c "DROP DATABASE IF EXISTS demo_shop" -c "CREATE DATABASE demo_shop"
  # A database that uses RLS (orders has its policy) with a tenant table that does not
  # (invoices): the RLS posture finding; and the table the long query locks.
  psql_ "$app_dsn" <<'SQL'
CREATE TABLE orders (id serial PRIMARY KEY, tenant_id int NOT NULL, total numeric);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON orders
  USING (tenant_id = current_setting('app.tenant_id')::int);
CREATE TABLE invoices (id serial PRIMARY KEY, tenant_id int NOT NULL, amount numeric);
INSERT INTO orders (tenant_id, total) SELECT i % 10, i FROM generate_series(1, 1000) i;
INSERT INTO invoices (tenant_id, amount) SELECT i % 10, i FROM generate_series(1, 1000) i;
SQL
}

run() {
  # A long query holding a lock: a report that locked invoices and runs for an hour, and the
  # web requests queued behind it (the blocking tree).
  hold demo-report-job "BEGIN; LOCK TABLE invoices IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3600);"
  for _ in $(seq 1 50); do  # the lock is taken before the waiters come
    [ "$(psql -X -At "$app_dsn" -c "SELECT count(*) FROM pg_stat_activity WHERE
      application_name = 'demo-report-job' AND wait_event = 'PgSleep'")" = 1 ] && break
    sleep 0.2
  done
  for _ in 1 2 3; do hold demo-web "SELECT count(*) FROM invoices;"; done
  # An idle transaction: a worker that began, read, and went away without COMMIT.
  hold demo-billing-worker "BEGIN; SELECT total FROM orders WHERE id = 1;"
  # A leaking application: one more connection every 5 seconds that it never closes, up to 40
  # (the demo server has 100 slots: this shows a leak and its forecast, not an outage).
  for _ in $(seq 1 40); do
    hold demo-leaky-api "SELECT 1;"
    sleep 5
  done
  wait
}

case "${1:-}" in
  setup) setup ;;
  run) run ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
