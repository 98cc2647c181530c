#!/usr/bin/env bash
# The incident scenario suite (docs/scenarios.md): a throwaway PostgreSQL, SQLAlchemy pools per
# replica, a real pgpulse (build/pgpulse), Prometheus with the shipped rules (time-compressed)
# and Alertmanager with the shipped routing; prints the results table and fails when an incident
# is missed, the wrong alert fires, check exits wrongly or healthy load raises an alert.
#
#   tests/scenarios/run.sh --short                  CI's subset, about 3.5 minutes on 2 cores
#   tests/scenarios/run.sh                          every scenario (longer: a 5-minute idle transaction)
#   tests/scenarios/run.sh --markdown FILE          also write the table to FILE
#   tests/scenarios/run.sh --only leak,outage       some scenarios
#
# PGPULSE_BIN overrides build/pgpulse; SCENARIOS_TIMEOUT (seconds) the watchdog (default 600 for
# --short, 3600 otherwise). Everything runs on free private ports and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Debian's packages only (never pip): the suite's client is what an application on Debian 12 runs.
# shellcheck source=scripts/lib/packages.sh
. scripts/lib/packages.sh
ensure_packages python3 python3-sqlalchemy python3-psycopg2 python3-yaml postgresql-15 \
  prometheus prometheus-alertmanager
bin=${PGPULSE_BIN:-build/pgpulse}
[ -x "$bin" ] || { echo "no $bin: build pgpulse first (scripts/setup.sh)" >&2; exit 1; }
PGPULSE_BIN=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
export PGPULSE_BIN

timeout=${SCENARIOS_TIMEOUT:-3600}
for arg in "$@"; do
  if [ "$arg" = --short ]; then timeout=${SCENARIOS_TIMEOUT:-600}; fi
done
# The suite stops everything it started on SIGTERM; SIGKILL 30 s later if it does not.
exec timeout --kill-after=30 "$timeout" /usr/bin/python3 tests/scenarios/suite.py "$@"
