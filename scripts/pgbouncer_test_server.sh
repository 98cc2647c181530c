#!/usr/bin/env bash
# A throwaway PgBouncer for tests and the demo, in front of the test PostgreSQL of
# scripts/pg_test_server.sh (source its DIR/env first): private ini, auth_file, unix socket
# directory, pid and log under DIR, on a free port, run as the unprivileged user "postgres".
# Never touches Debian's pgbouncer service or /etc/pgbouncer.
#
#   scripts/pgbouncer_test_server.sh start DIR   write the config (first time) and start; DIR/env
#   scripts/pgbouncer_test_server.sh stop DIR    SIGINT: safe shutdown, clients are cut
#   scripts/pgbouncer_test_server.sh kill DIR    SIGKILL (a crash, as far as clients see)
#   scripts/pgbouncer_test_server.sh status DIR
#
# Databases (all on the test server's "postgres" database, pool_size 2, so a third client
# queues): session (pool_mode=session), transaction (pool_mode=transaction), and budget
# (pool_size 150 + reserve 10, more server connections than the test server's 100 slots
# allow). The admin console is "pgbouncer"; "pgpulse_stats" is a stats_users role (what pgpulse
# connects as), "postgres" an admin and a client. Extra [pgbouncer] settings:
# PGPULSE_TEST_PGBOUNCER_SETTINGS="default_pool_size=5 ...". PGBOUNCER=/path/to/pgbouncer.
set -euo pipefail

command_name=${1:-}
dir=${2:-}
if [ -z "$command_name" ] || [ -z "$dir" ]; then
  sed -n '2,19p' "$0"
  exit 2
fi
PGBOUNCER=${PGBOUNCER:-/usr/sbin/pgbouncer}
PSQL=${PSQL:-/usr/lib/postgresql/15/bin/psql}

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

ini="$dir/pgbouncer.ini"
pidfile="$dir/pgbouncer.pid"
socket="$dir/socket"

write_config() {
  local port=$1
  : "${PGPULSE_TEST_PGHOST:?source the test PostgreSQL env (scripts/pg_test_server.sh) first}"
  : "${PGPULSE_TEST_PGPORT:?source the test PostgreSQL env first}"
  mkdir -p "$dir" "$socket" "$dir/log"
  chmod 755 "$dir"
  local server="host=$PGPULSE_TEST_PGHOST port=$PGPULSE_TEST_PGPORT dbname=postgres"
  cat >"$ini" <<INI
[databases]
session = $server pool_size=2 pool_mode=session
transaction = $server pool_size=2 pool_mode=transaction
budget = $server pool_size=150 reserve_pool=10

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $socket
pidfile = $pidfile
logfile = $dir/log/pgbouncer.log
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
stats_users = pgpulse_stats
pool_mode = session
default_pool_size = 2
max_client_conn = 50
; a waiting client gives up after this; long enough for the tests to watch it wait
query_wait_timeout = 60
server_check_delay = 1
INI
  for setting in ${PGPULSE_TEST_PGBOUNCER_SETTINGS:-}; do echo "$setting" >>"$ini"; done
  # auth_type trust still needs every user listed.
  cat >"$dir/userlist.txt" <<USERS
"postgres" ""
"pgpulse_stats" ""
USERS
  echo "$port" >"$dir/port"
  [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
  return 0
}

write_env() {
  local port
  port=$(cat "$dir/port")
  cat >"$dir/env" <<ENV
export PGPULSE_TEST_PGBOUNCER_DIR='$dir'
export PGPULSE_TEST_PGBOUNCER_PORT=$port
export PGPULSE_TEST_PGBOUNCER_VERSION='$("$PGBOUNCER" --version | sed -n '1s/^PgBouncer //p')'
export PGPULSE_TEST_PGBOUNCER_ADMIN_DSN='host=127.0.0.1 port=$port user=pgpulse_stats dbname=pgbouncer'
export PGPULSE_TEST_PGBOUNCER_SCRIPT='$(cd "$(dirname "$0")" && pwd)/$(basename "$0")'
ENV
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "$command_name" in
  start)
    [ -f "$ini" ] || write_config "$(free_port)"
    if running; then echo "PgBouncer already running (pid $(cat "$pidfile"))"; write_env; exit 0; fi
    rm -f "$pidfile"  # left by a killed one; pgbouncer refuses to start over a live pid only
    port=$(cat "$dir/port")
    for attempt in 1 2 3 4 5; do
      as_server_user "$PGBOUNCER" -d -q "$ini" || true
      for _ in $(seq 1 50); do
        if "$PSQL" -h 127.0.0.1 -p "$port" -U pgpulse_stats -Atqc "SHOW VERSION" pgbouncer \
            >/dev/null 2>&1; then
          write_env
          echo "PgBouncer running: port $port, pid $(cat "$pidfile"), config $ini"
          exit 0
        fi
        sleep 0.1
      done
      # Another process took the port since we picked it: take another one.
      if [ "$attempt" -lt 5 ] && tail -5 "$dir/log/pgbouncer.log" 2>/dev/null |
          grep -q "Address already in use"; then
        port=$(free_port)
        sed -i "s/^listen_port = .*/listen_port = $port/" "$ini"
        echo "$port" >"$dir/port"
        continue
      fi
      break
    done
    tail -20 "$dir/log/pgbouncer.log" >&2 || true
    exit 1
    ;;
  stop | kill)
    if running; then
      pid=$(cat "$pidfile")
      kill "-$([ "$command_name" = kill ] && echo KILL || echo INT)" "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    ;;
  status)
    if running; then echo "PgBouncer running (pid $(cat "$pidfile"))"; else echo "not running"; exit 3; fi ;;
  *)
    sed -n '2,19p' "$0"; exit 2 ;;
esac
