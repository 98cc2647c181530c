#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory: creates the
# monitoring role pgpulse logs in with. It needs pg_monitor only, never superuser.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=pw="$PGPULSE_DB_PASSWORD" <<'SQL'
CREATE ROLE pgpulse LOGIN PASSWORD :'pw' CONNECTION LIMIT 3;
GRANT pg_monitor TO pgpulse;
SQL
