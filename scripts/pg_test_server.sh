#!/usr/bin/env bash
# A throwaway PostgreSQL for tests, benchmarks and the demo: private data dir, port and socket
# directory, fast and unsafe settings (fsync off), prepared transactions allowed, replication
# connections trusted from 127.0.0.1 (scripts/pg_standby.sh). Never touches a system PostgreSQL.
#
#   scripts/pg_test_server.sh start DIR [PORT]   init (first time) and start; writes DIR/env
#   scripts/pg_test_server.sh stop DIR           fast shutdown
#   scripts/pg_test_server.sh kill DIR           immediate shutdown (a crash, as far as clients see)
#   scripts/pg_test_server.sh status DIR
#
# The server refuses to run as root, so as root it runs as the "postgres" user (created by
# Debian's postgresql package). Extra settings: PGPULSE_TEST_PG_SETTINGS="max_connections=300 ...".
# Another major: PG_BIN=$(scripts/pg_versions.sh bindir 13) (default: Debian's 15). DIR remembers
# the PG_BIN it was created with, so later stop/kill/start need no PG_BIN. PSQL defaults to
# $PG_BIN/psql, or Debian's when PG_BIN has none (the npm-packaged servers have no client tools).
set -euo pipefail

command_name=${1:-}
dir=${2:-}
if [ -z "$command_name" ] || [ -z "$dir" ]; then
  sed -n '2,16p' "$0"
  exit 2
fi
if [ -z "${PG_BIN:-}" ] && [ -f "$dir/pg_bin" ]; then PG_BIN=$(cat "$dir/pg_bin"); fi
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [ -z "${PSQL:-}" ]; then
  PSQL=$PG_BIN/psql
  [ -x "$PSQL" ] || PSQL=/usr/lib/postgresql/15/bin/psql
fi

as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Below the kernel's ephemeral range (32768+), where a client socket may hold the port anyway.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 12000 ))
    port_in_use "$port" || { echo "$port"; return; }
  done
  echo "no free port found" >&2; exit 1
}

data="$dir/data"
socket="$dir/socket"

init_cluster() {
  local port=$1
  mkdir -p "$dir" "$socket" "$dir/log"
  chmod 755 "$dir"
  [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
  as_server_user "$PG_BIN/initdb" -D "$data" -U postgres -A trust --no-sync -E UTF8 \
    --locale=C.UTF-8 >"$dir/log/initdb.log" 2>&1 || { cat "$dir/log/initdb.log" >&2; exit 1; }
  # password_encryption: 13's default is md5, which the scram-sha-256 lines of pg_hba.conf reject.
  cat >>"$data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$socket'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
shared_buffers = 64MB
shared_preload_libraries = 'pg_stat_statements'
password_encryption = 'scram-sha-256'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d/%a '
max_prepared_transactions = 10
CONF
  for setting in ${PGPULSE_TEST_PG_SETTINGS:-}; do echo "$setting" >>"$data/postgresql.conf"; done
  # Roles in the group password_auth must authenticate with a password over TCP (auth tests).
  # "all" does not match replication connections: scripts/pg_standby.sh needs its own lines.
  cat >"$data/pg_hba.conf" <<HBA
local all all trust
host all +password_auth 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
HBA
  echo "$port" >"$dir/port"
  (cd "$PG_BIN" && pwd) >"$dir/pg_bin"
}

write_env() {
  local port
  port=$(cat "$dir/port")
  cat >"$dir/env" <<ENV
export PGPULSE_TEST_PGDIR='$dir'
export PGPULSE_TEST_PGMAJOR=$(cat "$data/PG_VERSION")
export PGPULSE_TEST_PGHOST=127.0.0.1
export PGPULSE_TEST_PGPORT=$port
export PGPULSE_TEST_PGSOCKET='$socket'
export PGPULSE_TEST_DSN='host=127.0.0.1 port=$port user=postgres dbname=postgres'
export PGPULSE_TEST_SERVER_SCRIPT='$(cd "$(dirname "$0")" && pwd)/$(basename "$0")'
ENV
}

case "$command_name" in
  start)
    fresh=""
    if [ ! -f "$data/PG_VERSION" ]; then init_cluster "${3:-$(free_port)}"; fresh=1; fi
    for attempt in 1 2 3 4 5; do
      if as_server_user "$PG_BIN/pg_ctl" -D "$data" -l "$dir/log/postgresql.log" -w -t 60 start \
          >/dev/null; then
        break
      fi
      # Another process took the port since we picked it: a new cluster can take another one.
      if [ -n "$fresh" ] && [ -z "${3:-}" ] && [ "$attempt" -lt 5 ] &&
          tail -5 "$dir/log/postgresql.log" | grep -q "Address already in use"; then
        port=$(free_port)
        sed -i "s/^port = .*/port = $port/" "$data/postgresql.conf"
        echo "$port" >"$dir/port"
        continue
      fi
      tail -20 "$dir/log/postgresql.log" >&2
      exit 1
    done
    if ! as_server_user "$PSQL" -h "$socket" -p "$(cat "$dir/port")" -U postgres -Atqc \
        "SELECT 1 FROM pg_roles WHERE rolname = 'password_auth'" postgres | grep -q 1; then
      as_server_user "$PSQL" -h "$socket" -p "$(cat "$dir/port")" -U postgres -qc \
        "CREATE ROLE password_auth NOLOGIN; CREATE EXTENSION IF NOT EXISTS pg_stat_statements;" \
        postgres >/dev/null
    fi
    write_env
    echo "PostgreSQL running: port $(cat "$dir/port"), socket $socket, data $data"
    ;;
  stop)
    as_server_user "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 || true ;;
  kill)
    as_server_user "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true ;;
  status)
    as_server_user "$PG_BIN/pg_ctl" -D "$data" status ;;
  *)
    sed -n '2,16p' "$0"; exit 2 ;;
esac
