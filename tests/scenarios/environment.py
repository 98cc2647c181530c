"""The suite's world: a throwaway PostgreSQL with a multi-tenant database, the source-address
proxy, the application replicas, pgpulse, Prometheus and Alertmanager, and pgpulse check."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

import psycopg2

from harness import (DRIFT_WINDOW, EXTRA_WEB, HERE, IDLE_TREND_WINDOW, INTERVAL,
                     MAX_CONNECTIONS, MONITOR_PASSWORD, PG_SCRIPT, POOLS, PYTHON, REPLICAS,
                     ROOT, RULE_TIME_FACTOR, AlertWatcher, Metrics, Webhook, compressed_rules,
                     frozen_pids, http_get, launch, log, processes, start_process, stop_process)


# ---------------------------------------------------------------- the environment
class Environment:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="pgpulse-scn.")
        self.pgdir = tempfile.mkdtemp(prefix="pgpulse-scn-pg.", dir="/tmp")
        self.bin = os.environ.get("PGPULSE_BIN", os.path.join(ROOT, "build", "pgpulse"))
        self.replicas = {}  # name -> Popen
        self.stats_base = {}

    # ---------------- PostgreSQL
    def pg(self, action):
        env = dict(os.environ, PGPULSE_TEST_PG_SETTINGS=f"max_connections={MAX_CONNECTIONS}")
        result = subprocess.run([PG_SCRIPT, action, self.pgdir], env=env, capture_output=True,
                                text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"pg_test_server.sh {action}: {result.stdout}{result.stderr}")

    def sql(self, statement, dbname="saas", params=None, fetch=False):
        conn = psycopg2.connect(host="127.0.0.1", port=self.pgport, user="postgres",
                                dbname=dbname, application_name="scenario-suite",
                                connect_timeout=5)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if fetch else None
        finally:
            conn.close()

    def start_postgres(self):
        self.pg("start")
        env = open(os.path.join(self.pgdir, "env")).read()
        self.pgport = int(re.search(r"PGPULSE_TEST_PGPORT=(\d+)", env).group(1))
        log(f"PostgreSQL on port {self.pgport} (max_connections {MAX_CONNECTIONS})")
        self.sql(f"""
            CREATE ROLE pgpulse LOGIN PASSWORD '{MONITOR_PASSWORD}' CONNECTION LIMIT 4
              IN ROLE pg_monitor, password_auth;
            CREATE ROLE saas_app LOGIN;""", dbname="postgres")
        # Alone: several statements in one query string run as one transaction, which CREATE
        # DATABASE refuses.
        self.sql("CREATE DATABASE saas", dbname="postgres")
        self.sql("""
            CREATE TABLE tickets (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,
                                  status text NOT NULL, subject text,
                                  created_at timestamptz NOT NULL DEFAULT now());
            INSERT INTO tickets (tenant_id, status, subject)
              SELECT 1 + g % 5, CASE WHEN g % 7 = 0 THEN 'open' ELSE 'closed' END, 'ticket ' || g
              FROM generate_series(1, 10000) g;
            CREATE TABLE invoices (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,
                                   amount int NOT NULL,
                                   created_at timestamptz NOT NULL DEFAULT now());
            ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
            CREATE POLICY tickets_tenant ON tickets
              USING (tenant_id = current_setting('app.current_tenant_id', true)::bigint);
            ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
            CREATE POLICY invoices_read ON invoices FOR SELECT
              USING (tenant_id = current_setting('app.current_tenant_id', true)::bigint);
            CREATE POLICY invoices_write ON invoices FOR INSERT
              WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true)::bigint);
            GRANT SELECT, INSERT, UPDATE ON tickets, invoices TO saas_app;
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO saas_app;
            ANALYZE;""")

    def server_pids(self):
        with open(os.path.join(self.pgdir, "data", "postmaster.pid")) as f:
            postmaster = int(f.readline())
        pids = [postmaster]
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == postmaster:
                pids.append(int(entry))
        return pids

    def freeze(self):
        frozen_pids[:] = self.server_pids()
        for pid in frozen_pids:  # the postmaster first: it forks nothing new meanwhile
            os.kill(pid, signal.SIGSTOP)

    @staticmethod
    def thaw():
        for pid in reversed(frozen_pids):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        frozen_pids.clear()

    # ---------------- proxy and application replicas
    def start_proxy(self):
        sources = [a for _, _, a in list(REPLICAS.values()) + list(EXTRA_WEB.values())]
        out = open(os.path.join(self.work, "proxy.log"), "ab")
        proc = subprocess.Popen([PYTHON, os.path.join(HERE, "proxy.py"), "127.0.0.1",
                                 str(self.pgport), *sources], stdout=subprocess.PIPE,
                                stderr=out, start_new_session=True)
        processes.append(("proxy", proc))
        self.proxy_ports = json.loads(proc.stdout.readline())
        log(f"proxy: one port per replica address ({len(self.proxy_ports)} addresses)")

    def control_path(self, name):
        return os.path.join(self.work, f"{name}.control.json")

    def stats_path(self, name):
        return os.path.join(self.work, f"{name}.stats.json")

    def control(self, name, **settings):
        """Replaces the replica's control file (unset keys fall back to defaults)."""
        tmp = self.control_path(name) + ".tmp"
        with open(tmp, "w") as f:
            json.dump(settings, f)
        os.replace(tmp, self.control_path(name))

    def start_replica(self, name, spec=None, **settings):
        role, app, address = spec or REPLICAS.get(name) or EXTRA_WEB[name]
        _, pool_size, max_overflow = POOLS[app]
        self.control(name, **settings)
        url = (f"postgresql+psycopg2://saas_app@127.0.0.1:{self.proxy_ports[address]}/saas")
        timeout = {"web": 2, "worker": 5, "reports": 2}[role]
        self.replicas[name] = start_process(name, [
            PYTHON, os.path.join(HERE, "app.py"), role, "--url", url, "--name", name,
            "--app-name", app, "--control", self.control_path(name),
            "--stats", self.stats_path(name), "--pool-size", str(pool_size),
            "--max-overflow", str(max_overflow), "--pool-timeout", str(timeout)],
            os.path.join(self.work, f"{name}.log"))

    def stop_replica(self, name):
        proc = self.replicas.pop(name)
        stop_process(proc, timeout=5)

    def stats(self, names=None):
        """Cumulative counters summed over the given replicas (default all that ever ran)."""
        total = {"ok": 0, "queuepool_timeouts": 0, "cross_tenant_rows": 0, "leaked": 0,
                 "errors": {}}
        for name in names or [n for n in list(REPLICAS) + list(EXTRA_WEB)]:
            try:
                s = json.load(open(self.stats_path(name)))
            except (OSError, ValueError):
                continue
            for key in ("ok", "queuepool_timeouts", "cross_tenant_rows", "leaked"):
                total[key] += s.get(key, 0)
            for kind, n in s.get("errors", {}).items():
                total["errors"][kind] = total["errors"].get(kind, 0) + n
        return total

    # ---------------- pgpulse, Alertmanager, Prometheus
    def write_pgpulse_config(self):
        self.password_file = os.path.join(self.work, "pgpulse.password")
        self.set_monitor_password(MONITOR_PASSWORD)
        pools = "".join(
            f"  - application_name: {app}\n    replicas: {r}\n    pool_size: {s}\n"
            f"    max_overflow: {o}\n" for app, (r, s, o) in POOLS.items())
        self.config = os.path.join(self.work, "pgpulse.yml")
        with open(self.config, "w") as f:
            f.write(f"""interval: {int(INTERVAL)}s
targets:
  - name: saas
    dsn: host=127.0.0.1 port={self.pgport} dbname=saas user=pgpulse
    password_file: {self.password_file}
pools:
{pools}""")

    def set_monitor_password(self, password):
        tmp = self.password_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(password + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.password_file)

    def start_pgpulse(self):
        self.write_pgpulse_config()
        self.pgpulse_port = launch("pgpulse", [
            self.bin, "--config", self.config, "--web.listen-address", "127.0.0.1:{port}",
            "--idle-trend.window", IDLE_TREND_WINDOW, "--rls.drift-window", DRIFT_WINDOW],
            "/healthz", os.path.join(self.work, "pgpulse.log"))
        self.pgpulse_url = f"http://127.0.0.1:{self.pgpulse_port}"
        log(f"pgpulse on port {self.pgpulse_port}, polling every {INTERVAL:g}s as role pgpulse "
            f"(pg_monitor, password)")

    def scrape(self):
        status, body = http_get(self.pgpulse_url + "/metrics", 3)
        if status != 200:
            raise RuntimeError(f"pgpulse /metrics answered {status}")
        return Metrics(body)

    def diagnose(self):
        status, body = http_get(self.pgpulse_url + "/diagnose", 5)
        return json.loads(body) if status == 200 else {}

    def start_alerting(self):
        self.webhook = Webhook()
        self.webhook.start()
        am_config = os.path.join(self.work, "alertmanager.yml")
        subprocess.run([PYTHON, os.path.join(ROOT, "deploy", "test", "checks.py"),
                        "e2e-alertmanager", os.path.join(ROOT, "deploy/alertmanager/alertmanager.yml"),
                        am_config, f"http://127.0.0.1:{self.webhook.port}/hook"],
                       check=True, capture_output=True)
        am_port = launch("alertmanager", [
            "prometheus-alertmanager", f"--config.file={am_config}",
            f"--storage.path={self.work}/am", "--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address="], "/-/ready", os.path.join(self.work, "alertmanager.log"))
        rules = os.path.join(self.work, "alerts-scenarios.yml")
        compressed_rules(os.path.join(ROOT, "deploy/prometheus/alerts.yml"), rules)
        prom_config = os.path.join(self.work, "prometheus.yml")
        with open(prom_config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{am_port}"]
scrape_configs:
  - job_name: pgpulse
    static_configs:
      - targets: ["127.0.0.1:{self.pgpulse_port}"]
""")
        prom_port = launch("prometheus", [
            "prometheus", f"--config.file={prom_config}", f"--storage.tsdb.path={self.work}/prom",
            "--web.listen-address=127.0.0.1:{port}"], "/-/ready",
            os.path.join(self.work, "prometheus.log"))
        self.prom_url = f"http://127.0.0.1:{prom_port}"
        self.alerts = AlertWatcher(self.prom_url)
        self.alerts.start()
        log(f"Alertmanager on port {am_port} (shipped routing, receivers -> webhook), Prometheus "
            f"on port {prom_port} (scrape and evaluation 1s, rules time-compressed x{RULE_TIME_FACTOR})")

    # ---------------- pgpulse check
    def check(self, daemon=False):
        argv = [self.bin, "check", "--output", "json"]
        argv += ["--daemon", self.pgpulse_url] if daemon else ["--config", self.config]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=90)
        except subprocess.TimeoutExpired:
            return None, "timed out after 90s"
        try:
            report = json.loads(result.stdout)
            steps = [f"{s['id']} {s['severity']}" for s in report["targets"][0]["steps"]
                     if s["severity"] in ("warning", "critical")]
            summary = ", ".join(steps) or "every step ok"
        except (ValueError, KeyError, IndexError):
            summary = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no output"]
            summary = summary[0][:120]
        return result.returncode, summary

    # ---------------- the end
    def close(self, keep_logs=None):
        self.thaw()
        if hasattr(self, "alerts"):
            self.alerts.stopping.set()
        for _, proc in reversed(processes):
            try:
                stop_process(proc, timeout=5)
            except Exception:  # noqa: BLE001
                pass
        if hasattr(self, "webhook"):
            self.webhook.server.shutdown()
        try:
            self.pg("stop")
        except Exception as e:  # noqa: BLE001
            log(f"stopping PostgreSQL: {e}")
        if keep_logs:
            os.makedirs(keep_logs, exist_ok=True)
            for name in os.listdir(self.work):
                if name.endswith(".log"):
                    shutil.copy(os.path.join(self.work, name), keep_logs)
            shutil.copy(os.path.join(self.pgdir, "log", "postgresql.log"), keep_logs)
        shutil.rmtree(self.work, ignore_errors=True)
        subprocess.run(["rm", "-rf", self.pgdir])
