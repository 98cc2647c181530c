#!/usr/bin/env bash
# Checks everything under deploy/ for real (issue 5), after scripts/setup.sh has built build/pgpulse:
#
#   static   promtool check/test rules, rule and test coverage, Prometheus and Alertmanager
#            configs, docker-compose config, Kubernetes manifests and the generated
#            PrometheusRule, Grafana dashboard, Dockerfile, systemd unit, example configs,
#            the Debian package (cpack)
#   live     a throwaway PostgreSQL with some trouble in it (idle and leaking connections, an
#            idle transaction holding a lock and a query waiting on it, a pool over budget, a
#            tenant table without RLS, a dropped policy, a BYPASSRLS role, sequential scans, a
#            deadlock, a table full of dead tuples, an inactive replication slot, a repeated
#            slow statement), archiving, and a streaming standby of it, pgpulse polling both
#            every second, a real Alertmanager and a real Prometheus
#            scraping pgpulse every second with the rules loaded (for: shortened to 0s).
#            Every PromQL expression of the rules and of the dashboard must parse and each of
#            its selectors must return data; the expected alerts must fire and reach the
#            Alertmanager, the healthy-side alerts must not; removing the pool overload must
#            resolve its alert.
#
#   scripts/test_deploy.sh          (PGPULSE_BIN and BUILD_DIR override build/pgpulse and build)
#
# Everything runs on free private ports and in a temporary directory, and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
BIN=${PGPULSE_BIN:-$root/$BUILD_DIR/pgpulse}
PYTHON=/usr/bin/python3
CHECKS=("$PYTHON" "$root/deploy/test/checks.py")
SCRAPE=("$PYTHON" "$root/deploy/test/scrape_checks.py")

# ---------------------------------------------------------------- tools
PACKAGES=(prometheus prometheus-alertmanager docker-compose python3 python3-yaml postgresql-15
          curl dpkg-dev binutils systemd procps shellcheck lintian help2man man-db zlib1g-dev
          python3-prometheus-client bsdextrautils)
# shellcheck source=scripts/lib/packages.sh
. scripts/lib/packages.sh
ensure_packages "${PACKAGES[@]}"
[ -x "$BIN" ] || { echo "no $BIN: run scripts/setup.sh first" >&2; exit 1; }

# ---------------------------------------------------------------- bookkeeping
passed=0
failed=0
failures=()
work=$(mktemp -d /tmp/pgpulse-deploy.XXXXXX)
# PostgreSQL runs as the postgres user: its directory must be one that user can reach.
pgdir=$(mktemp -d /tmp/pgpulse-deploy-pg.XXXXXX)
standbydir=$(mktemp -d /tmp/pgpulse-deploy-standby.XXXXXX)
pids=()
session_fds=()

cleanup() {
  local status=$?
  set +e
  for fd in "${session_fds[@]}"; do eval "exec ${fd}>&-"; done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  [ -f "$pgdir/pgbouncer/env" ] && "$root/scripts/pgbouncer_test_server.sh" stop "$pgdir/pgbouncer"
  [ -f "$standbydir/env" ] && "$root/scripts/pg_test_server.sh" stop "$standbydir"
  [ -f "$pgdir/env" ] && "$root/scripts/pg_test_server.sh" stop "$pgdir"
  rm -rf "$work" "$pgdir" "$standbydir"
  exit "$status"
}
trap cleanup EXIT

# The release package, built before the watchdog starts: a first build compiles everything again
# with the hardening flags (ccache makes the next ones quick). PGPULSE_DEB skips it;
# DEB_FROM_BUILD=build packages a build already made with those flags (scripts/test.sh's).
deb=${PGPULSE_DEB:-}
if [ -z "$deb" ]; then
  echo "==> building the Debian package (scripts/build_deb.sh${DEB_FROM_BUILD:+ from $DEB_FROM_BUILD})"
  deb=$(scripts/build_deb.sh 2>"$work/build_deb.log" | tail -1) || {
    deb=""
    tail -30 "$work/build_deb.log" >&2
  }
fi

# A watchdog: nothing here may hang a CI run (DEPLOY_TEST_TIMEOUT seconds, default 25 minutes;
# the whole script takes 4-5 minutes on an idle 2-core machine, three times that under load).
(
  sleep "${DEPLOY_TEST_TIMEOUT:-1500}"
  echo "test_deploy.sh: timed out after ${DEPLOY_TEST_TIMEOUT:-1500}s, stopping it" >&2
  kill -TERM $$ 2>/dev/null
  pkill -TERM -P $$ 2>/dev/null
) &
pids+=($!)

# shellcheck source=scripts/lib/deploy_helpers.sh
. scripts/lib/deploy_helpers.sh

# ================================================================ static checks
step "Prometheus rules"
check "promtool check rules deploy/prometheus/alerts.yml" \
  promtool check rules deploy/prometheus/alerts.yml
check "promtool test rules deploy/prometheus/alerts_test.yml" \
  promtool test rules deploy/prometheus/alerts_test.yml
check "required alerts, labels, annotations and runbook sections" "${CHECKS[@]}" rules
check "a firing and a silent unit test for every alert" "${CHECKS[@]}" rule-tests

step "Prometheus and Alertmanager configuration"
check "promtool check config deploy/prometheus/prometheus.yml" \
  promtool check config deploy/prometheus/prometheus.yml
check "amtool check-config deploy/alertmanager/alertmanager.yml" \
  amtool check-config deploy/alertmanager/alertmanager.yml
routes_ok() {
  local got
  got=$(amtool config routes test --config.file=deploy/alertmanager/alertmanager.yml \
    severity=critical category=security alertname=PostgresRLSDisabledOnTenantTable)
  echo "critical security alert -> $got"
  [ "$got" = "security,pager" ] || return 1
  got=$(amtool config routes test --config.file=deploy/alertmanager/alertmanager.yml \
    severity=warning category=saturation)
  echo "warning saturation alert -> $got"
  [ "$got" = "team-chat" ] || return 1
  got=$(amtool config routes test --config.file=deploy/alertmanager/alertmanager.yml \
    severity=info category=performance)
  echo "info performance alert -> $got"
  [ "$got" = "tickets" ]
}
check "Alertmanager routes by severity and category" routes_ok

step "docker-compose sidecar stack"
check "docker-compose config -q (with GRAFANA_ADMIN_PASSWORD set)" \
  bash -c 'cd deploy && GRAFANA_ADMIN_PASSWORD=deploy-test docker-compose -f docker-compose.yml config -q'
grafana_password_required() {
  local out
  out=$(cd deploy && env -u GRAFANA_ADMIN_PASSWORD docker-compose -f docker-compose.yml config -q 2>&1) &&
    { echo "docker-compose accepted the file without GRAFANA_ADMIN_PASSWORD"; return 1; }
  grep -o 'set GRAFANA_ADMIN_PASSWORD[^"]*' <<<"$out" | head -1
}
check "docker-compose refuses to run Grafana without GRAFANA_ADMIN_PASSWORD" grafana_password_required
check "compose services, mounts and sidecar network" "${CHECKS[@]}" compose deploy/docker-compose.yml
check "pgpulse --check-config deploy/compose/pgpulse.yml (DSN from the environment)" \
  env PGPULSE_DSN="host=127.0.0.1 port=5432 dbname=postgres user=pgpulse" \
  PGPULSE_TARGET_NAME=compose-postgres "$BIN" --check-config --config deploy/compose/pgpulse.yml
check "sh -n deploy/compose/initdb/10-pgpulse-role.sh" sh -n deploy/compose/initdb/10-pgpulse-role.sh
check "docker-compose config -q with the optional PgBouncer override" \
  bash -c 'cd deploy && GRAFANA_ADMIN_PASSWORD=deploy-test \
    docker-compose -f docker-compose.yml -f docker-compose.pgbouncer.yml config -q'
check "PgBouncer override: PgBouncer in the sidecar netns, pgpulse watching both" \
  "${CHECKS[@]}" compose-pgbouncer deploy/docker-compose.yml deploy/docker-compose.pgbouncer.yml
check "pgpulse --check-config deploy/compose/pgpulse-pgbouncer.yml (PGPULSE_DSN blanked by the override)" \
  env PGPULSE_DSN="" PGPULSE_TARGET_NAME="" "$BIN" --check-config --config deploy/compose/pgpulse-pgbouncer.yml
check "sh -n deploy/compose/pgbouncer/entrypoint.sh" sh -n deploy/compose/pgbouncer/entrypoint.sh

step "Kubernetes"
check "PrometheusRule in sync with alerts.yml (scripts/gen_prometheusrule.sh --check)" \
  scripts/gen_prometheusrule.sh --check
check "sidecar StatefulSet, Services, ServiceMonitor, PrometheusRule" \
  "${CHECKS[@]}" kubernetes deploy/kubernetes
k8s_config_ok() {
  "$PYTHON" -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(open("deploy/kubernetes/configmap.yaml")) if d]
cm = next(d for d in docs if d["metadata"]["name"] == "pgpulse-config")
open(sys.argv[1], "w").write(cm["data"]["pgpulse.yml"])' "$work/k8s-pgpulse.yml"
  PGPULSE_DSN="host=127.0.0.1 port=5432 dbname=postgres user=pgpulse" PGPULSE_TARGET_NAME=postgres-0 \
    "$BIN" --check-config --config "$work/k8s-pgpulse.yml"
}
check "pgpulse --check-config on the ConfigMap's pgpulse.yml" k8s_config_ok
k8s_pgbouncer_ok() {
  "${CHECKS[@]}" kubernetes-pgbouncer deploy/kubernetes-pgbouncer "$work/k8s-pgbouncer.yml" || return 1
  echo "pgpulse-password" >"$work/k8s-pgpulse-password"
  sed -i "s#/etc/pgpulse/secret/pgpulse-password#$work/k8s-pgpulse-password#" "$work/k8s-pgbouncer.yml"
  PGPULSE_DSN="" PGPULSE_PASSWORD_FILE="" PGPULSE_TARGET_NAME="" \
    "$BIN" --check-config --config "$work/k8s-pgbouncer.yml"
}
check "optional PgBouncer overlay: patches, resources, the sidecar's two targets (--check-config)" \
  k8s_pgbouncer_ok
if command -v kubectl >/dev/null 2>&1; then
  check "kubectl kustomize deploy/kubernetes" bash -c 'kubectl kustomize deploy/kubernetes >/dev/null'
  check "kubectl kustomize deploy/kubernetes-pgbouncer" \
    bash -c 'kubectl kustomize deploy/kubernetes-pgbouncer >/dev/null'
fi

step "Grafana"
check "dashboard panels, units, descriptions, \$target; provisioning" "${CHECKS[@]}" dashboard

step "Dockerfile"
check "multi-stage Debian 12 build with scripts/setup.sh, non-root runtime, HEALTHCHECK" \
  "${CHECKS[@]}" dockerfile "$BIN"

step "systemd unit and Debian package"
# shellcheck source=scripts/lib/deploy_package.sh
. scripts/lib/deploy_package.sh
check "systemd unit: hardening directives, systemd-analyze verify and security" unit_ok
check "pgpulse --check-config deploy/systemd/pgpulse.yml (the packaged /etc/pgpulse/pgpulse.yml)" \
  "$BIN" --check-config --config deploy/systemd/pgpulse.yml
check "the .deb (scripts/build_deb.sh): binary, man page, unit, config, docs, copyright, changelog; dependencies from dpkg-shlibdeps" package_ok
check "lintian: no errors, no warnings" lintian_ok
check "the .deb unpacked into a scratch root: --version, --check-config of its config, man page, systemd-analyze verify of its unit" \
  installed_ok
check "cmake --install (DESTDIR) installs the binary and the man page" cmake_install_ok

if command -v shellcheck >/dev/null 2>&1; then
  step "shell scripts"
  check "shellcheck" shellcheck -x scripts/*.sh scripts/lib/*.sh bench/*.sh .ci/run \
    deploy/compose/initdb/10-pgpulse-role.sh deploy/compose/pgbouncer/entrypoint.sh \
    tests/scenarios/run.sh
fi

step "first run: scripts/demo.sh --incident"
# The newcomer's demo with its scripted incident: within a minute, `pgpulse check --daemon`
# names each of its four problems (the leak needs longer: only its connections are checked).
demo_ok() {
  local dir port out want rc=0 pgid="" missing
  # Not under $work (mode 700): the demo's PostgreSQL runs as the unprivileged postgres user.
  dir=$(mktemp -d /tmp/pgpulse-deploy-demo.XXXXXX)
  port=$(free_port)
  local wants=("root blocker pid(s)" "oldest idle transaction" demo-billing-worker
    "demo_shop:public.invoices" demo-leaky-api)
  if PGPULSE_DEMO_DIR=$dir PGPULSE_DEMO_LISTEN=127.0.0.1:$port scripts/demo.sh --incident \
    >"$work/demo.log" 2>&1; then
    grep -q "demo-report-job holds a lock" "$work/demo.log" || { echo "no what-to-look-at text"; rc=1; }
    pgid=$(cat "$dir/incident.pid" 2>/dev/null || true)
    for _ in $(seq 1 60); do  # until every finding is there, or a minute
      out=$("$BIN" check --daemon "http://127.0.0.1:$port" 2>&1) || true
      missing=""
      for want in "${wants[@]}"; do [[ $out == *"$want"* ]] || missing="$want"; done
      [ -z "$missing" ] && break
      sleep 1
    done
    for want in "${wants[@]}"; do
      [[ $out == *"$want"* ]] || { echo "check --daemon does not say: $want"; rc=1; }
    done
    [ "$rc" = 0 ] || echo "$out" | tail -20
  else
    tail -20 "$work/demo.log"
    rc=1
  fi
  # Always stopped, whatever failed above: the demo's server, pgpulse and the workload.
  PGPULSE_DEMO_DIR=$dir scripts/demo.sh stop >/dev/null 2>&1 || rc=1
  if [ -n "$pgid" ]; then
    for _ in $(seq 1 10); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.5; done
    ! kill -0 -- "-$pgid" 2>/dev/null || { echo "the incident workload outlived demo.sh stop"; rc=1; }
  fi
  rm -rf "$dir"
  return "$rc"
}
check "the demo's scripted incident shows in pgpulse check within a minute; demo.sh stop ends it" demo_ok

# ================================================================ live checks
step "live: PostgreSQL with trouble, pgpulse, Alertmanager, Prometheus"
has_rls=false
"$BIN" --help | grep -qE '^  rls +enabled' && has_rls=true
echo "rls collector in this build: $has_rls"

# shellcheck source=scripts/lib/deploy_servers.sh
. scripts/lib/deploy_servers.sh
start_servers
check "the packaged binary (in the scratch root) runs pgpulse check against this server" \
  installed_check_ok e2e-secret "host=127.0.0.1 port=$pgport dbname=postgres user=pgpulse"

cat >"$work/pgpulse.yml" <<EOF
interval: 1s
targets:
  - name: e2e
    dsn: host=127.0.0.1 port=$pgport dbname=postgres user=pgpulse
  - name: e2e-standby
    dsn: host=127.0.0.1 port=$standbyport dbname=postgres user=pgpulse
  - name: e2e-pgbouncer
    kind: pgbouncer
    server: e2e
    dsn: $PGPULSE_TEST_PGBOUNCER_ADMIN_DSN
pools:
  - application_name: e2e-pool
    replicas: 1
    pool_size: 1
    max_overflow: 1
  - application_name: e2e-web
    replicas: 2
    pool_size: 3
    max_overflow: 2
EOF
pgpulse_port="" hook_port="" am_port="" prom_port=""   # set by launch
pgpulse_args=(--config "$work/pgpulse.yml" --web.listen-address "127.0.0.1:@PORT@"
              --idle-trend.window 20s --collector.statements.interval 2s)
# pgpulse_connect_failure_reason exists only while a target is down, and this one is up.
if $has_rls; then
  pgpulse_args+=(--collector.rls.interval 2s --seq-scan.min-table-bytes 0)
  optional='^pgpulse_connect_failure_reason'
else
  # Without the rls collector its series cannot exist; everything else must still have data.
  optional='^(pgpulse_connect_failure_reason|pgpulse_rls_|pgpulse_rls_bypass_role|pgpulse_monitoring_role_superuser|pgpulse_seq_scan_|target:pgpulse_rls_)'
fi
launch pgpulse_port /readyz "$work/pgpulse.log" "$BIN" "${pgpulse_args[@]}"
pgpulse_url="http://127.0.0.1:$pgpulse_port"
echo "pgpulse on port $pgpulse_port, ready (as the pg_monitor role pgpulse)"

launch hook_port / "$work/webhook.log" "${CHECKS[@]}" webhook @PORT@ "$work/notifications.jsonl"
"${CHECKS[@]}" e2e-alertmanager deploy/alertmanager/alertmanager.yml "$work/alertmanager.yml" \
  "http://127.0.0.1:$hook_port/hook"
launch am_port /-/ready "$work/alertmanager.log" prometheus-alertmanager \
  --config.file="$work/alertmanager.yml" --storage.path="$work/am" \
  --web.listen-address=127.0.0.1:@PORT@ --cluster.listen-address=
am_url="http://127.0.0.1:$am_port"
echo "Alertmanager on port $am_port (the shipped routing, every receiver a webhook on port $hook_port)"

# Two more scrapes of pgpulse through recording proxies (deploy/test/scrape_checks.py): one passes
# Prometheus' own Accept and Accept-Encoding (OpenMetrics, gzip), one asks for the uncompressed
# text format. Their series are dropped after parsing; up and scrape_samples_scraped stay.
om_proxy_port="" text_proxy_port=""   # set by launch
launch om_proxy_port /healthz "$work/proxy-pass.log" "${SCRAPE[@]}" proxy @PORT@ "$pgpulse_url" pass \
  "$work/scrapes-pass.jsonl"
launch text_proxy_port /healthz "$work/proxy-text.log" "${SCRAPE[@]}" proxy @PORT@ "$pgpulse_url" text \
  "$work/scrapes-text.jsonl"
"${CHECKS[@]}" e2e-rules deploy/prometheus/alerts.yml "$work/alerts-e2e.yml"
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $work/alerts-e2e.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$am_port"]
scrape_configs:
  - job_name: pgpulse
    static_configs:
      - targets: ["127.0.0.1:$pgpulse_port"]
  - job_name: pgpulse-negotiated
    static_configs:
      - targets: ["127.0.0.1:$om_proxy_port"]
    metric_relabel_configs: [{source_labels: [__name__], regex: ".+", action: drop}]
  - job_name: pgpulse-text
    static_configs:
      - targets: ["127.0.0.1:$text_proxy_port"]
    metric_relabel_configs: [{source_labels: [__name__], regex: ".+", action: drop}]
EOF
started=$SECONDS
launch prom_port /-/ready "$work/prometheus.log" prometheus --config.file="$work/prometheus.yml" \
  --storage.tsdb.path="$work/prom" --web.listen-address=127.0.0.1:@PORT@
prom_url="http://127.0.0.1:$prom_port"
echo "Prometheus on port $prom_port: scraping pgpulse every second, rules loaded with for: 0s"
# shellcheck source=scripts/lib/deploy_scrape.sh
. scripts/lib/deploy_scrape.sh
wait_for_first_scrape

# ---------------------------------------------------------------- trouble
# shellcheck source=scripts/lib/deploy_sessions.sh
. scripts/lib/deploy_sessions.sh
start_trouble

check "the Dockerfile's HEALTHCHECK command against the running pgpulse" \
  env PGPULSE_WEB_LISTEN_ADDRESS="127.0.0.1:$pgpulse_port" bash -c "$("${CHECKS[@]}" healthcheck-cmd)"
runbook_sql_ok() {
  "${CHECKS[@]}" runbook-sql >"$work/runbook.sql"
  psql -X -q -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$pgport user=postgres dbname=postgres" \
    -f "$work/runbook.sql" >/dev/null
}
check "the runbook's read-only SQL runs against PostgreSQL 15" runbook_sql_ok

provoke_deadlock

echo "leaking: one more idle connection of e2e-leaky per second, 24 in all"
for _ in $(seq 1 24); do open_session e2e-leaky; say "$last_fd" "SELECT 1;"; sleep 1; done
sql "DROP POLICY e2e_write ON e2e_tenant_two_policies" >/dev/null
echo "dropped policy e2e_write on e2e_tenant_two_policies"
# The lock wait must pass PostgresQueriesBlocked's 30 seconds; the rls collector must rescan.
while [ $((SECONDS - blocked_since)) -lt 34 ]; do sleep 1; done
sleep 5

# ---------------------------------------------------------------- expressions
step "every PromQL expression of the rules and the dashboard, through Prometheus' HTTP API"
check "each expression parses and each of its selectors returns data" \
  env E2E_OPTIONAL_SELECTORS="$optional" "${CHECKS[@]}" evaluate "$prom_url" 'e2e|e2e-standby|e2e-pgbouncer' \
  $((SECONDS - started + 5))
check "/metrics as text, gzip, OpenMetrics and both: promtool and the OpenMetrics parser" formats_ok
check "Prometheus scraped OpenMetrics, gzip-compressed (its own Accept), and parsed it" \
  scraped_ok pgpulse-negotiated "$work/scrapes-pass.jsonl" "application/openmetrics-text; version=1.0.0" gzip
check "Prometheus scraped the text format, uncompressed, and parsed it" \
  scraped_ok pgpulse-text "$work/scrapes-text.jsonl" "text/plain; version=0.0.4" identity
check "every exposed metric and every metric the rules and dashboard read is in docs/metrics.md" \
  metrics_documented_ok

echo "pgpulse exposed $("${CHECKS[@]}" value "$prom_url" 'count({job="pgpulse",target="e2e"})') series for target e2e" \
  "($("${CHECKS[@]}" value "$prom_url" 'count({job="pgpulse"})') from its endpoint) under this workload"

# ---------------------------------------------------------------- alerts
step "alerts through Prometheus and Alertmanager"
expected=(PostgresPoolBudgetExceeded PostgresConnectionsNearLimit PostgresRoleOrDatabaseConnectionsNearLimit
          PostgresIdleConnectionLeak PostgresConnectionExhaustionForecast PostgresQueriesBlocked
          PostgresDeadlocks PostgresAutovacuumBehind PostgresSlowStatement
          PgBouncerServerBudgetOverSlots PgBouncerClientsWaiting PgBouncerPoolSaturated)
$has_rls && expected+=(PostgresRLSDisabledOnTenantTable PostgresRLSPolicyRemoved PostgresRLSBypassRole
                       PostgresSeqScanHeavyTable)
never=(PostgresDown PgpulseDown PgpulseCollectorFailing PgpulseConfigReloadFailed PostgresConnectionsExhausted
       PostgresPoolOvercommitted PostgresIdleInTransactionStuck PostgresLongRunningQuery
       PostgresLongRunningTransaction PgpulseMonitoringRoleSuperuser PostgresXidWraparound
       PostgresXminHorizonHeldBack PostgresReplicationLag PostgresStandbyNotStreaming
       PostgresReplicationSlotRetainingWal PostgresArchiverFailing PostgresRestarted
       PostgresSettingsPendingRestart PostgresTempFileSpill PostgresRequestedCheckpoints
       PostgresHighRollbackRatio PostgresStatementLatencyRegression PostgresStatementsEvicting
       PgBouncerDown PgBouncerClientConnectionsNearLimit)
alerts_ok() {
  local fired name bad=0
  fired=" $("${CHECKS[@]}" fired "$prom_url" $((SECONDS - started + 5))) "
  echo "fired during the run:${fired% }"
  for name in "${expected[@]}"; do
    [[ $fired == *" $name "* ]] || { echo "expected $name to fire"; bad=1; }
  done
  for name in "${never[@]}"; do
    [[ $fired != *" $name "* ]] || { echo "$name fired on a healthy signal"; bad=1; }
  done
  return $bad
}
check "the expected alerts fired (for: 0s), the healthy-side ones did not" alerts_ok
am_has() { [[ " $("${CHECKS[@]}" am-alerts "$am_url") " == *" $1 "* ]]; }
check "Alertmanager received PostgresPoolBudgetExceeded" \
  wait_for 30 "PostgresPoolBudgetExceeded in Alertmanager" am_has PostgresPoolBudgetExceeded
check "the webhook receiver was notified of PostgresPoolBudgetExceeded (firing)" \
  wait_for 30 "a firing notification" "${CHECKS[@]}" notified "$work/notifications.jsonl" \
  PostgresPoolBudgetExceeded firing

am_inhibits() { [[ " $("${CHECKS[@]}" am-inhibited "$am_url") " == *" $1 "* ]]; }
check "Alertmanager inhibits PgBouncerPoolSaturated while PgBouncerClientsWaiting fires for its pool" \
  wait_for 30 "PgBouncerPoolSaturated inhibited" am_inhibits PgBouncerPoolSaturated

echo "removing the cause: closing 2 of the 3 e2e-pool sessions (1 of a budget of 2)"
close_session "${pool_fds[0]}"
close_session "${pool_fds[1]}"
not_firing() { [[ " $("${CHECKS[@]}" firing "$prom_url") " != *" $1 "* ]]; }
check "PostgresPoolBudgetExceeded resolves in Prometheus" \
  wait_for 30 "the alert to resolve" not_firing PostgresPoolBudgetExceeded
check "the webhook receiver was notified that it resolved" \
  wait_for 30 "a resolved notification" "${CHECKS[@]}" notified "$work/notifications.jsonl" \
  PostgresPoolBudgetExceeded resolved
check "pgpulse stayed ready, and up in Prometheus" \
  bash -c "curl -fsS '$pgpulse_url/readyz' >/dev/null && [ \"\$(curl -fsS '$prom_url/api/v1/query?query=min(up%7Bjob%3D%22pgpulse%22%7D)' | $PYTHON -c 'import json,sys; print(json.load(sys.stdin)[\"data\"][\"result\"][0][\"value\"][1])')\" = 1 ]"

# ---------------------------------------------------------------- summary
echo
if [ "$failed" -gt 0 ]; then
  echo "failed checks:"
  printf '  - %s\n' "${failures[@]}"
  echo "logs: pgpulse, Prometheus and Alertmanager (last lines)"
  tail -5 "$work/pgpulse.log" "$work/prometheus.log" "$work/alertmanager.log" 2>/dev/null |
    sed 's/^/    /' || true
fi
echo "deploy: $passed passed, $failed failed in ${SECONDS}s"
[ "$failed" = 0 ]
