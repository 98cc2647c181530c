#!/usr/bin/env bash
# A streaming standby of a test server made by scripts/pg_test_server.sh, for the replication
# integration tests: a base backup through a physical replication slot, started on a free port.
#
#   scripts/pg_standby.sh create PRIMARY_DIR STANDBY_DIR SLOT   base backup, configure, start
#   scripts/pg_standby.sh stop STANDBY_DIR                      fast shutdown (pg_test_server.sh)
#
# STANDBY_DIR is laid out as pg_test_server.sh lays out its DIR (data, socket, log, port, pg_bin,
# env), so `pg_test_server.sh stop|kill|start|status STANDBY_DIR` work on it too. The standby's
# WAL receiver connects as application_name "pgpulse_standby" (its cluster_name).
#
# Debian's pg_basebackup (15) makes the backup, -R writing primary_conninfo and standby.signal,
# -C -S creating the slot. It refuses servers newer than itself, and the npm-packaged 16, 17 and
# 18 have no client tools: for those the primary stops for a moment, its data directory is copied
# (a clean shutdown's copy is a consistent base backup), and the same settings are written by
# hand.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

BASEBACKUP=${PG_BASEBACKUP:-/usr/lib/postgresql/15/bin/pg_basebackup}
PSQL=${PSQL:-/usr/lib/postgresql/15/bin/psql}

usage() { sed -n '2,16p' "$0"; exit 2; }

as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 12000 ))
    port_in_use "$port" || { echo "$port"; return; }
  done
  echo "no free port found" >&2; exit 1
}

create() {
  local primary=$1 standby=$2 slot=$3 primary_port pg_bin major bb_major port
  [ -f "$primary/data/PG_VERSION" ] || { echo "no test server in $primary" >&2; exit 1; }
  [ ! -e "$standby/data" ] || { echo "$standby/data exists already" >&2; exit 1; }
  primary_port=$(cat "$primary/port")
  pg_bin=$(cat "$primary/pg_bin")
  major=$(cat "$primary/data/PG_VERSION")
  sql() { as_server_user "$PSQL" -X -q -At -h "$primary/socket" -p "$primary_port" -U postgres -c "$1" postgres; }

  # Clusters made before pg_test_server.sh allowed replication connections get the lines now.
  if ! grep -qE '^host +replication' "$primary/data/pg_hba.conf"; then
    printf 'local replication all trust\nhost replication all 127.0.0.1/32 trust\n' \
      >>"$primary/data/pg_hba.conf"
    sql "SELECT pg_reload_conf()" >/dev/null
  fi

  mkdir -p "$standby/socket" "$standby/log"
  chmod 755 "$standby"
  [ "$(id -u)" = 0 ] && chown -R postgres "$standby"
  bb_major=$("$BASEBACKUP" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')
  if [ "$major" -le "$bb_major" ]; then
    as_server_user "$BASEBACKUP" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$standby/data" \
      -X stream -R -C -S "$slot" --checkpoint=fast --no-sync >"$standby/log/basebackup.log" 2>&1 ||
      { cat "$standby/log/basebackup.log" >&2; exit 1; }
    # -R writes every connection option of its own libpq (15), some of which an older server's
    # libpq rejects ("invalid connection option sslsni" on 13): a later line of the same file
    # wins, so the plain connection string below is the one used.
    cat >>"$standby/data/postgresql.auto.conf" <<CONF
primary_conninfo = 'host=127.0.0.1 port=$primary_port user=postgres'
CONF
  else
    sql "SELECT pg_create_physical_replication_slot('$slot', true)" >/dev/null
    "$root/scripts/pg_test_server.sh" stop "$primary"
    cp -a "$primary/data" "$standby/data"
    "$root/scripts/pg_test_server.sh" start "$primary" >/dev/null
    rm -f "$standby/data/postmaster.pid" "$standby/data/postmaster.opts"
    as_server_user touch "$standby/data/standby.signal"
    cat >>"$standby/data/postgresql.auto.conf" <<CONF
primary_conninfo = 'host=127.0.0.1 port=$primary_port user=postgres'
primary_slot_name = '$slot'
CONF
  fi
  port=$(free_port)
  sed -i -e "s/^port = .*/port = $port/" \
    -e "s#^unix_socket_directories = .*#unix_socket_directories = '$standby/socket'#" \
    "$standby/data/postgresql.conf"
  cat >>"$standby/data/postgresql.conf" <<CONF
cluster_name = 'pgpulse_standby'
hot_standby = on
hot_standby_feedback = on
CONF
  echo "$port" >"$standby/port"
  echo "$pg_bin" >"$standby/pg_bin"
  [ "$(id -u)" = 0 ] && chown -R postgres "$standby"
  "$root/scripts/pg_test_server.sh" start "$standby"
}

case "${1:-}" in
  create)
    [ $# = 4 ] || usage
    create "$2" "$3" "$4" ;;
  stop)
    [ $# = 2 ] || usage
    "$root/scripts/pg_test_server.sh" stop "$2" ;;
  *)
    usage ;;
esac
