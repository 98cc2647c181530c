#!/bin/sh
# Writes PgBouncer's auth_file from the environment (the passwords of the compose stack), then
# runs PgBouncer in the foreground with the mounted pgbouncer.ini.
set -eu
mkdir -p /tmp/pgbouncer
umask 077
printf '"%s" "%s"\n' postgres "$POSTGRES_PASSWORD" pgpulse "$PGPULSE_DB_PASSWORD" \
  >/tmp/pgbouncer/userlist.txt
exec /usr/sbin/pgbouncer /etc/pgbouncer/pgbouncer.ini
