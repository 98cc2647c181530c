# shellcheck shell=bash
# Sourced by scripts/test_deploy.sh: the servers of its live checks. start_servers starts a
# throwaway PostgreSQL with the fixtures the trouble needs, a streaming standby of it and a
# PgBouncer in front of it, and sets pgport, standbyport and pgbport; sql runs SQL as postgres.
# The caller's cleanup stops all three.
# shellcheck disable=SC2154,SC2034 # root, pgdir, standbydir are the caller's; it reads the ports

sql() { psql -X -q -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$pgport user=postgres dbname=${2:-postgres}" -c "$1"; }

start_servers() {
  # 53: 50 usable slots, so the sessions below (PgBouncer's three server connections included) stay
  # over 80% (PostgresConnectionsNearLimit) and under 95% (PostgresConnectionsExhausted must not fire).
  PGPULSE_TEST_PG_SETTINGS="max_connections=53 archive_mode=on archive_command=true" \
    "$root/scripts/pg_test_server.sh" start "$pgdir"
  # shellcheck disable=SC1091
  . "$pgdir/env"
  pgport=$PGPULSE_TEST_PGPORT

  # The monitoring role, exactly as the compose stack creates it (pg_monitor, no superuser).
  POSTGRES_USER=postgres POSTGRES_DB=postgres PGPULSE_DB_PASSWORD=e2e-secret PGHOST=127.0.0.1 \
    PGPORT=$pgport sh deploy/compose/initdb/10-pgpulse-role.sh >/dev/null
  sql "CREATE DATABASE e2e_app CONNECTION LIMIT 20" >/dev/null
  sql "CREATE ROLE e2e_app LOGIN CONNECTION LIMIT 5; CREATE ROLE e2e_bypass LOGIN BYPASSRLS;
       CREATE TABLE e2e_locked (id int);
       CREATE TABLE e2e_tenant_open (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, body text);
       CREATE TABLE e2e_tenant_protected (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL);
       ALTER TABLE e2e_tenant_protected ENABLE ROW LEVEL SECURITY;
       CREATE POLICY e2e_isolation ON e2e_tenant_protected
         USING (tenant_id = current_setting('app.tenant_id', true)::bigint);
       CREATE TABLE e2e_tenant_two_policies (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL);
       ALTER TABLE e2e_tenant_two_policies ENABLE ROW LEVEL SECURITY;
       CREATE POLICY e2e_read ON e2e_tenant_two_policies FOR SELECT
         USING (tenant_id = current_setting('app.tenant_id', true)::bigint);
       CREATE POLICY e2e_write ON e2e_tenant_two_policies FOR INSERT
         WITH CHECK (tenant_id = current_setting('app.tenant_id', true)::bigint);
       CREATE TABLE e2e_events (id bigserial PRIMARY KEY, status text, created_at timestamptz);
       INSERT INTO e2e_events (status, created_at)
         SELECT CASE WHEN g % 10 = 0 THEN 'open' ELSE 'done' END, now() FROM generate_series(1, 20000) g;
       ANALYZE e2e_events;
       CREATE TABLE e2e_bloat (id int) WITH (autovacuum_enabled = off);
       INSERT INTO e2e_bloat SELECT generate_series(1, 30000);
       DELETE FROM e2e_bloat WHERE id % 2 = 0;
       CREATE TABLE e2e_deadlock (id int PRIMARY KEY);
       INSERT INTO e2e_deadlock VALUES (1), (2);
       SELECT pg_create_physical_replication_slot('e2e_forgotten', true);" >/dev/null
  echo "PostgreSQL on port $pgport: role pgpulse (pg_monitor), database e2e_app (limit 20), role e2e_app (limit 5), BYPASSRLS role, tenant tables"
  echo "  15,000 dead tuples in e2e_bloat (autovacuum off), inactive slot e2e_forgotten, archive_command true"
  "$root/scripts/pg_standby.sh" create "$pgdir" "$standbydir" e2e_standby >/dev/null
  standbyport=$(cat "$standbydir/port")
  echo "standby on port $standbyport, streaming through slot e2e_standby"
  # PgBouncer in front of it (pools of 2, and a "budget" database of 150 + 10 reserve: more than the
  # server's 50 usable slots), watched by pgpulse as target e2e-pgbouncer linked to e2e.
  "$root/scripts/pgbouncer_test_server.sh" start "$pgdir/pgbouncer"
  # shellcheck disable=SC1091
  . "$pgdir/pgbouncer/env"
  pgbport=$PGPULSE_TEST_PGBOUNCER_PORT
}
