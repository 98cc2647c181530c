#!/usr/bin/env python3
"""Replays on-call incidents end to end and prints what pgpulse and its alerts made of them.

    suite.py [--short] [--markdown FILE] [--only NAME,...] [--keep-logs DIR]

A throwaway PostgreSQL (scripts/pg_test_server.sh) with a multi-tenant database using row-level
security; a real client: SQLAlchemy 1.4 QueuePool pools over psycopg2 in separate processes per
replica (tests/scenarios/app.py: web API replicas, Celery-like workers, a reports service), each
replica reaching the server from its own loopback address through tests/scenarios/proxy.py; a
real pgpulse daemon (build/pgpulse); a real Prometheus with the shipped rules
(deploy/prometheus/alerts.yml, time-compressed: see RULE TIME below and docs/scenarios.md) and a
real Alertmanager with the shipped routing (deploy/alertmanager/alertmanager.yml, every receiver a
webhook of this suite).

First a healthy-load phase (no alert may fire, check must exit 0), then each incident: its cause,
then pgpulse's signal, the alert, `pgpulse check` (direct and --daemon), the cause removed, the
resolution. Detection is counted in pgpulse poll intervals, from the first moment the signal
could show (the incident's start, or its start plus the signal's threshold, e.g. 30 s of lock
wait) to the first scrape of pgpulse's /metrics that shows it. The suite exits 1 when an incident
is not detected, its alert does not fire or does not resolve, an alert fires that the incident
does not explain, check exits with another code than expected, or the healthy phase raises an
alert. --short runs the incidents that fit in CI's 3 minutes (not the 5-minute idle transaction,
not the lock pile-up), with a shorter healthy phase.

Needs Debian's python3-sqlalchemy, python3-psycopg2 and python3-yaml, prometheus and
prometheus-alertmanager (tests/scenarios/run.sh installs them).
"""
import argparse
import http.server
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

import psycopg2
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PG_SCRIPT = os.path.join(ROOT, "scripts", "pg_test_server.sh")
PYTHON = sys.executable

INTERVAL = 1.0            # pgpulse's poll interval (seconds); detection is counted in these
IDLE_TREND_WINDOW = "20s"  # pgpulse --idle-trend.window (default 15m)
# RULE TIME: the rules run 60 times faster than written. Every `for:` is divided by 60 (1m -> 1s,
# 5m -> 5s, 30m -> 30s). Range windows stay as written, except where a rule's window is the same
# "N minutes" as its for: or as a pgpulse setting that is compressed too (below).
RULE_TIME_FACTOR = 60
WINDOW_SCALED_RULES = {
    # "Connections have kept failing for 30 minutes": [30m] windows with for: 30m.
    "PostgresConnectionIssuesPersistent",
    # "A policy was dropped within the last 15 minutes": the drift window, which pgpulse's
    # /diagnose mirrors (rls.drift_window, compressed to DRIFT_WINDOW below).
    "PostgresRLSPolicyRemoved",
}
DRIFT_WINDOW = "15s"       # pgpulse --rls.drift-window (default 15m), as the rule's window
MONITOR_PASSWORD = "scn-monitor-1"
MAX_CONNECTIONS = 60       # 57 usable: superuser_reserved_connections is 3

POOLS = {  # application_name -> replicas configured, pool_size, max_overflow (pgpulse pools:)
    "web-api": (3, 5, 2),
    "worker": (2, 2, 1),
    "reports": (1, 5, 20),
}
# Each replica's own loopback address: pgpulse tells replicas apart by client address.
REPLICAS = {
    "web-1": ("web", "web-api", "127.0.0.11"),
    "web-2": ("web", "web-api", "127.0.0.12"),
    "web-3": ("web", "web-api", "127.0.0.13"),
    "worker-1": ("worker", "worker", "127.0.0.21"),
    "worker-2": ("worker", "worker", "127.0.0.22"),
    "reports-1": ("reports", "reports", "127.0.0.31"),
}
# Extra web replicas a bad deploy starts (the pool budget says 3).
EXTRA_WEB = {f"web-{n}": ("web", "web-api", f"127.0.0.{10 + n}") for n in range(4, 9)}

processes = []  # (name, Popen), stopped in reverse order at exit
frozen_pids = []  # a SIGSTOPped server, thawed at exit whatever happens


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- small tools
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (OSError, ValueError):
        return 0, ""


def wait_until(condition, timeout, step=0.25):
    """Seconds it took until condition() held, or None after timeout."""
    started = time.time()
    while True:
        try:
            if condition():
                return time.time() - started
        except Exception:  # noqa: BLE001 - a probe that fails is a probe that says no
            pass
        if time.time() - started >= timeout:
            return None
        time.sleep(step)


def start_process(name, argv, logfile, env=None, **kwargs):
    out = open(logfile, "ab")
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True, **kwargs)
    out.close()
    processes.append((name, proc))
    return proc


def stop_process(proc, timeout=10):
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def launch(name, argv_with_port, ready_path, logfile, attempts=5):
    """Starts a server on a free port ({port} in its argv) and waits until it answers."""
    for _ in range(attempts):
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in argv_with_port]
        proc = start_process(name, argv, logfile)
        ready = wait_until(lambda: http_get(f"http://127.0.0.1:{port}{ready_path}", 2)[0] == 200
                           or proc.poll() is not None, 60)
        if ready is not None and proc.poll() is None:
            return port
        stop_process(proc)
    raise RuntimeError(f"could not start {name}; see {logfile}")


# ---------------------------------------------------------------- exposition
class Metrics:
    LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
    LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

    def __init__(self, text):
        self.series = []
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = self.LINE.match(line)
            if not m:
                continue
            labels = dict(self.LABEL.findall(m.group(2) or ""))
            try:
                value = float(m.group(3))
            except ValueError:
                continue
            self.series.append((m.group(1), labels, value))

    def values(self, name, **labels):
        return [v for n, l, v in self.series
                if n == name and all(l.get(k) == w for k, w in labels.items())]

    def max(self, name, **labels):
        values = self.values(name, **labels)
        return max(values) if values else None

    def sum(self, name, **labels):
        return sum(self.values(name, **labels))


# ---------------------------------------------------------------- the rules, time-compressed
def duration_seconds(text):
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|[smhdwy])", str(text)):
        total += int(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400,
                                "w": 604800, "y": 31536000}[unit]
    return total


def format_duration(seconds):
    ms = int(round(seconds * 1000))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def compressed_rules(src, dst):
    rules = yaml.safe_load(open(src))
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            rule["for"] = format_duration(duration_seconds(rule.get("for", "0s")) /
                                          RULE_TIME_FACTOR)
            if rule["alert"] in WINDOW_SCALED_RULES:
                scale = lambda m: m.group(1) + format_duration(  # noqa: E731
                    duration_seconds(m.group(2)) / RULE_TIME_FACTOR) + m.group(3)
                rule["expr"] = re.sub(r"(\[)(\d+[smhd])(\])", scale, rule["expr"])
                rule["expr"] = re.sub(r"(offset )(\d+[smhd])()", scale, rule["expr"])
    with open(dst, "w") as f:
        yaml.safe_dump(rules, f, sort_keys=False)


# ---------------------------------------------------------------- watchers
class AlertWatcher(threading.Thread):
    """Polls Prometheus' /api/v1/alerts: when each alert (name, severity, labels) fired."""

    def __init__(self, prom_url):
        super().__init__(daemon=True)
        self.url = prom_url + "/api/v1/alerts"
        self.lock = threading.Lock()
        self.firing = {}   # key -> since (our clock)
        self.events = []   # (time, "firing"|"resolved", key)
        self.stopping = threading.Event()

    @staticmethod
    def key(alert):
        labels = alert["labels"]
        return (labels.get("alertname"), labels.get("severity"),
                tuple(sorted((k, v) for k, v in labels.items()
                             if k not in ("alertname", "severity"))))

    def run(self):
        while not self.stopping.is_set():
            status, body = http_get(self.url, 3)
            if status == 200:
                now = time.time()
                current = {self.key(a) for a in json.loads(body)["data"]["alerts"]
                           if a["state"] == "firing"}
                with self.lock:
                    for key in current - set(self.firing):
                        self.firing[key] = now
                        self.events.append((now, "firing", key))
                    for key in set(self.firing) - current:
                        del self.firing[key]
                        self.events.append((now, "resolved", key))
            self.stopping.wait(0.5)

    def firing_now(self):
        with self.lock:
            return dict(self.firing)

    def fired_since(self, since, until=None):
        """(alertname, severity) of every alert that fired in [since, until] or fires now."""
        until = until or time.time()
        with self.lock:
            out = {(k[0], k[1]) for t, kind, k in self.events
                   if kind == "firing" and since <= t <= until}
            out |= {(k[0], k[1]) for k, t in self.firing.items() if t <= until}
        return out

    def first_firing(self, name, since, severity=None):
        with self.lock:
            for t, kind, k in self.events:
                if kind == "firing" and t >= since and k[0] == name and \
                        (severity is None or k[1] == severity):
                    return t
        return None

    def is_firing(self, name, severity=None):
        return any(k[0] == name and (severity is None or k[1] == severity)
                   for k in self.firing_now())


class Webhook(threading.Thread):
    """Alertmanager's every receiver: records which receiver was notified of what."""

    def __init__(self):
        super().__init__(daemon=True)
        self.notifications = []  # (time, receiver, status, alertname, severity)
        watcher = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                now = time.time()
                for alert in body.get("alerts", []):
                    watcher.notifications.append(
                        (now, body.get("receiver"), alert.get("status"),
                         alert["labels"].get("alertname"), alert["labels"].get("severity")))
                self.send_response(200)
                self.end_headers()

            def do_GET(self):
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def run(self):
        self.server.serve_forever()

    def receivers(self, name, since):
        return sorted({r for t, r, status, a, _ in list(self.notifications)
                       if a == name and status == "firing" and t >= since})


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
            CREATE ROLE saas_app LOGIN;
            CREATE DATABASE saas;""", dbname="postgres")
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


# ---------------------------------------------------------------- scenarios
class Result:
    def __init__(self, scenario):
        self.scenario = scenario
        self.detected = None      # seconds from the earliest possible moment to the first scrape
        self.alerts = {}          # (name, severity) -> seconds from the incident's start
        self.routes = {}          # name -> receivers notified
        self.check = (None, "")   # (exit code, summary) of pgpulse check --config
        self.check_daemon = (None, "")
        self.cleared = None       # seconds from the cause removed to the signal gone
        self.resolved = None      # ... to every expected alert resolved
        self.unexpected = set()   # (name, severity) that fired and the incident does not explain
        self.known = set()        # ... of those, known bugs (KNOWN_BUGS)
        self.tolerated = set()    # (name, severity) that fired as a true consequence
        self.notes = []
        self.problems = []
        self.seconds = 0.0

    def problem(self, text):
        self.problems.append(text)
        log(f"  PROBLEM: {text}")

    def note(self, text):
        self.notes.append(text)
        log(f"  note: {text}")


# Alerts that fire where they should not, already reported; they are shown in the table as known
# bugs and fail the run only with --strict. (scenario, alertname) -> where it is written down.
KNOWN_BUGS = {
    ("recovered", "PostgresConnectionIssuesPersistent"):
        "a single short outage pages \"kept failing for 30 minutes\" 30 minutes later "
        "(docs/scenarios.md, known problems)",
}


def step_of(report, step_id):
    for step in (report.get("targets") or [{}])[0].get("steps", []):
        if step["id"] == step_id:
            return step
    return {}


class Scenario:
    name = ""
    title = ""
    incident = ""
    signal = ""
    threshold = 0.0          # seconds the signal needs before it can show (an age it measures)
    expected = []            # (alertname, severity) that must fire
    tolerated = {}           # alertname -> why it may fire too (a true consequence)
    check_expected = (0, 0)  # pgpulse check --config, pgpulse check --daemon
    short = True
    detect_timeout = 30.0
    alert_timeout = 30.0
    resolve_timeout = 60.0

    def __init__(self, args):
        self.args = args

    def start(self, env):
        raise NotImplementedError

    def stop(self, env):
        raise NotImplementedError

    def signal_on(self, m):
        raise NotImplementedError

    def signal_off(self, m):
        return not self.signal_on(m)

    def during(self, env, result):
        """Extra assertions while the incident lasts (after the alert fired)."""


class ReplicaPoolFull(Scenario):
    name = "replica_pool_full"
    title = "One replica's pool full"
    incident = ("web-3 (127.0.0.13) serves a slow export: 12 request threads, 2.5 s each, "
                "on its pool of 5 + 2; the other replicas as usual")
    signal = 'pgpulse_pool_replicas_at_limit{application_name="web-api"} >= 1'
    expected = [("PostgresPoolReplicaAtLimit", "warning")]
    check_expected = (1, 1)

    def start(self, env):
        env.control("web-3", threads=12, query_seconds=2.5, think=0.05)

    def stop(self, env):
        env.control("web-3")

    def signal_on(self, m):
        return (m.max("pgpulse_pool_replicas_at_limit", application_name="web-api") or 0) >= 1

    def during(self, env, result):
        step = step_of(env.diagnose(), "pools")
        result.note(f"/diagnose pools: {step.get('severity')}: {step.get('finding')}")
        if "127.0.0.13" not in step.get("finding", ""):
            result.problem("/diagnose's pools step does not name the full replica 127.0.0.13")
        m = env.scrape()
        util = m.max("pgpulse_pool_utilization_ratio", application_name="web-api")
        if util is None or util >= 1:
            result.problem(f"the summed pool use should stay below 1 here, it is {util}")
        timeouts = env.stats(["web-3"])["queuepool_timeouts"] - \
            env.stats_base.get("web-3", {}).get("queuepool_timeouts", 0)
        result.note(f"web-3 saw {timeouts} QueuePool timeouts; summed web-api pool use "
                    f"{util:.2f} of its budget")


class Exhaustion(Scenario):
    name = "exhaustion"
    title = "Pool exhaustion: replicas over budget"
    incident = ("a deploy runs 8 web replicas where the pool budget says 3, under a traffic "
                "spike (10 threads, 2 s requests each): the server runs out of slots")
    signal = "pgpulse_connection_saturation_ratio >= 0.95 and pgpulse_pool_utilization_ratio > 1"
    expected = [("PostgresConnectionsExhausted", "critical"),
                ("PostgresPoolBudgetExceeded", "warning")]
    tolerated = {
        "PostgresPoolReplicaAtLimit": "every replica is at its own pool limit",
        "PostgresConnectionsNearLimit": "true, and inhibited by PostgresConnectionsExhausted",
        "PostgresConnectionExhaustionForecast": "the slots did run out",
        "PostgresRLSPostureUnknown": "pgpulse's scan cannot connect to a full server: unknown",
    }
    check_expected = (2, 2)

    def start(self, env):
        for name in ("web-1", "web-2", "web-3"):
            env.control(name, threads=10, query_seconds=2, think=0.05)
        for name in EXTRA_WEB:
            env.start_replica(name, threads=10, query_seconds=2, think=0.05)

    def stop(self, env):
        for name in EXTRA_WEB:
            env.stop_replica(name)
        for name in ("web-1", "web-2", "web-3"):
            env.control(name)

    def signal_on(self, m):
        return ((m.max("pgpulse_connection_saturation_ratio") or 0) >= 0.95 and
                (m.max("pgpulse_pool_utilization_ratio", application_name="web-api") or 0) > 1)

    def signal_off(self, m):
        return ((m.max("pgpulse_connection_saturation_ratio") or 1) < 0.8 and
                (m.max("pgpulse_pool_utilization_ratio", application_name="web-api") or 2) <= 1)

    def during(self, env, result):
        report = env.diagnose()
        idle = step_of(report, "idle")
        for step_id in ("connections", "pools", "idle"):
            step = step_of(report, step_id)
            result.note(f"/diagnose {step_id}: {step.get('severity')}: {step.get('finding')}")
        if "leak suspected" in idle.get("finding", "") or \
                "does not return connections" in idle.get("action", ""):
            result.problem("/diagnose blames a leak for exhaustion by replicas over budget")
        if idle.get("severity") == "critical":
            result.problem("/diagnose's idle step is critical for exhaustion without a leak")
        stats = env.stats()
        result.note(f"the application saw {stats['queuepool_timeouts']} QueuePool timeouts and "
                    f"{stats['errors'].get('too_many_connections', 0)} 'too many clients' "
                    "errors in all (cumulative)")


class Leak(Scenario):
    name = "leak"
    title = "Connection leak"
    incident = ("the reports service opens a session every 2 s and never closes it "
                "(its connection stays checked out, idle in transaction)")
    signal = 'pgpulse_idle_leak_suspected{application_name="reports"} == 1'
    threshold = duration_seconds(IDLE_TREND_WINDOW) / 2  # the rule needs half a window
    expected = [("PostgresIdleConnectionLeak", "warning")]
    tolerated = {
        "PostgresConnectionExhaustionForecast": "the leak does head for exhaustion",
    }
    # The one-shot check has no trend window (README): it cannot see a leak; the daemon can.
    check_expected = (0, 1)
    alert_timeout = 40.0

    def start(self, env):
        env.control("reports-1", leak_per_second=0.5)

    def stop(self, env):
        env.control("reports-1", release_leaked=True)

    def signal_on(self, m):
        return m.max("pgpulse_idle_leak_suspected", application_name="reports") == 1

    def during(self, env, result):
        step = step_of(env.diagnose(), "idle")
        result.note(f"/diagnose idle: {step.get('severity')}: {step.get('finding')}")
        if "reports" not in step.get("finding", ""):
            result.problem("/diagnose's idle step does not name the leaking application")


class IdleInTransaction(Scenario):
    name = "idle_in_transaction"
    title = "Idle in transaction"
    incident = ("a worker job opens a transaction, reads tickets, then waits on an external "
                "call that never answers")
    signal = 'pgpulse_idle_in_transaction_max_age_seconds{application_name="worker"} > 300'
    threshold = 300.0
    expected = [("PostgresIdleInTransactionStuck", "warning")]
    check_expected = (1, 1)
    short = False

    def start(self, env):
        env.control("worker-1", stall={"token": "idle", "seconds": 900})

    def stop(self, env):
        env.control("worker-1")

    def signal_on(self, m):
        return (m.max("pgpulse_idle_in_transaction_max_age_seconds",
                      application_name="worker") or 0) > 300

    def signal_off(self, m):
        return (m.max("pgpulse_idle_in_transaction_max_age_seconds",
                      application_name="worker") or 0) < 300

    def during(self, env, result):
        step = step_of(env.diagnose(), "idle")
        result.note(f"/diagnose idle: {step.get('severity')}: {step.get('finding')}")
        if "worker" not in step.get("finding", ""):
            result.problem("/diagnose's idle step does not name the application")


class LockQueue(Scenario):
    name = "lock_queue"
    title = "Lock queue"
    incident = ("a migration (ALTER TABLE tickets ADD COLUMN, no lock_timeout) waits behind a "
                "worker's open transaction; every request reading tickets queues behind it")
    signal = "pgpulse_blocked_backends > 0 and pgpulse_lock_wait_max_seconds > 30"
    threshold = 30.0
    expected = [("PostgresQueriesBlocked", "warning")]
    check_expected = (1, 1)
    alert_timeout = 45.0

    def __init__(self, args):
        super().__init__(args)
        if not args.short:  # the pile-up: 10 or more blocked for over a minute pages
            self.expected = [("PostgresQueriesBlocked", "warning"),
                             ("PostgresQueriesBlocked", "critical")]
            self.check_expected = (2, 2)
            self.alert_timeout = 90.0
            self.incident += "; held past the 60 s of the pile-up rule"

    def start(self, env):
        env.control("worker-1", stall={"token": "lock", "seconds": 900})
        time.sleep(1.5)
        self.migration_error = None

        def migrate():
            try:
                env.sql("ALTER TABLE tickets ADD COLUMN IF NOT EXISTS priority int")
            except Exception as e:  # noqa: BLE001
                self.migration_error = e

        self.migration = threading.Thread(target=migrate, daemon=True)
        self.migration.start()

    def stop(self, env):
        env.control("worker-1")
        self.migration.join(30)
        if self.migration_error:
            log(f"  migration failed: {self.migration_error}")

    def signal_on(self, m):
        return m.sum("pgpulse_blocked_backends") > 0 and \
            (m.max("pgpulse_lock_wait_max_seconds") or 0) > 30

    def signal_off(self, m):
        return m.sum("pgpulse_blocked_backends") == 0

    def during(self, env, result):
        step = step_of(env.diagnose(), "queries_and_locks")
        result.note(f"/diagnose queries_and_locks: {step.get('severity')}: {step.get('finding')}")
        status, body = http_get(env.pgpulse_url + "/activity")
        tree = json.loads(body)["targets"][0]["locks"]["blocking_tree"] if status == 200 else []
        roots = [(r.get("application_name"), len(r.get("waiting", []))) for r in tree]
        result.note(f"/activity blocking tree roots (application, direct waiters): {roots}")
        if not any(app == "worker" for app, _ in roots):
            result.problem("the blocking tree's root is not the worker's open transaction")


class RlsOff(Scenario):
    name = "rls_off"
    title = "RLS switched off"
    incident = "a migration runs ALTER TABLE tickets DISABLE ROW LEVEL SECURITY in production"
    signal = 'pgpulse_rls_unprotected_tenant_tables{datname="saas"} > 0'
    expected = [("PostgresRLSDisabledOnTenantTable", "critical")]
    check_expected = (2, 2)

    def start(self, env):
        self.cross_before = env.stats()["cross_tenant_rows"]
        env.sql("ALTER TABLE tickets DISABLE ROW LEVEL SECURITY")

    def stop(self, env):
        env.sql("ALTER TABLE tickets ENABLE ROW LEVEL SECURITY")

    def signal_on(self, m):
        return (m.max("pgpulse_rls_unprotected_tenant_tables", datname="saas") or 0) > 0

    def signal_off(self, m):
        return m.max("pgpulse_rls_unprotected_tenant_tables", datname="saas") == 0

    def during(self, env, result):
        step = step_of(env.diagnose(), "rls")
        result.note(f"/diagnose rls: {step.get('severity')}: {step.get('finding')}")
        if "tickets" not in step.get("finding", ""):
            result.problem("/diagnose's rls step does not name public.tickets")
        if "app.current_tenant_id" not in step.get("action", ""):
            result.problem("/diagnose's advice does not name the database's own tenant setting")
        time.sleep(1)
        leaked = env.stats()["cross_tenant_rows"] - self.cross_before
        result.note(f"meanwhile the web API read {leaked} rows of other tenants")


class DroppedPolicy(Scenario):
    name = "dropped_policy"
    title = "Policy dropped"
    incident = ("DROP POLICY invoices_write ON invoices (RLS stays on: the workers' invoice "
                "inserts now fail)")
    signal = 'pgpulse_rls_policy_changes_total{datname="saas",change="removed"} increases'
    expected = [("PostgresRLSPolicyRemoved", "warning")]
    # The one-shot check has no earlier scan to compare with; the daemon has.
    check_expected = (0, 1)

    def start(self, env):
        self.before = env.scrape().sum("pgpulse_rls_policy_changes_total", datname="saas",
                                       change="removed")
        env.sql("DROP POLICY invoices_write ON invoices")

    def stop(self, env):
        env.sql("CREATE POLICY invoices_write ON invoices FOR INSERT WITH CHECK "
                "(tenant_id = current_setting('app.current_tenant_id', true)::bigint)")

    def signal_on(self, m):
        return m.sum("pgpulse_rls_policy_changes_total", datname="saas",
                     change="removed") > self.before

    def signal_off(self, m):
        return True  # a counter: what clears is the finding and the alert (the drift window)

    def during(self, env, result):
        step = step_of(env.diagnose(), "rls")
        result.note(f"/diagnose rls: {step.get('severity')}: {step.get('finding')}")
        if "invoices_write" not in step.get("finding", ""):
            result.problem("/diagnose's rls step does not name the dropped policy")
        result.note(f"the workers' inserts refused by RLS so far: "
                    f"{env.stats()['errors'].get('rls_violation', 0)}")


class WrongPassword(Scenario):
    name = "wrong_password"
    title = "Wrong monitoring password"
    incident = ("pgpulse's password is rotated on the server but not in its password file; its "
                "session is then cut (pg_terminate_backend), so it must log in again")
    signal = 'pgpulse_connect_failure_reason{reason="auth_failed"} == 1'
    expected = [("PgpulseAuthenticationFailed", "warning")]
    check_expected = (1, 1)

    def start(self, env):
        env.sql("ALTER ROLE pgpulse PASSWORD 'rotated-2'", dbname="postgres")
        env.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = 'pgpulse'", dbname="postgres")

    def stop(self, env):
        env.set_monitor_password("rotated-2")

    def signal_on(self, m):
        return m.max("pgpulse_connect_failure_reason", reason="auth_failed") == 1

    def signal_off(self, m):
        return m.max("pgpulse_up") == 1


class Outage(Scenario):
    name = "outage"
    title = "Outage"
    incident = "PostgreSQL crashes (pg_ctl stop -m immediate) and is started again"
    signal = "pgpulse_up == 0"
    expected = [("PostgresDown", "warning"), ("PostgresDown", "critical")]
    check_expected = (2, 2)

    def start(self, env):
        env.pg("kill")

    def stop(self, env):
        env.pg("start")

    def signal_on(self, m):
        return m.max("pgpulse_up") == 0


class Hang(Scenario):
    name = "hang"
    title = "Hang"
    incident = "every PostgreSQL process is SIGSTOPped (a frozen host), then SIGCONTed"
    signal = "pgpulse_up == 0"
    expected = [("PostgresDown", "warning"), ("PostgresDown", "critical")]
    check_expected = (2, 2)

    def start(self, env):
        env.freeze()

    def stop(self, env):
        env.thaw()

    def signal_on(self, m):
        return m.max("pgpulse_up") == 0

    def signal_off(self, m):
        return m.max("pgpulse_up") == 1


SCENARIOS = [ReplicaPoolFull, Exhaustion, Leak, IdleInTransaction, LockQueue, RlsOff,
             DroppedPolicy, WrongPassword, Outage, Hang]


# ---------------------------------------------------------------- running them
def quiet_phase(env, name, title, incident, seconds, problems_if_alerts=True):
    """Load as usual: no alert may fire, check must exit 0 (direct and --daemon)."""
    result = Result(type("Quiet", (Scenario,), {"name": name, "title": title,
                                                "incident": incident, "expected": [],
                                                "check_expected": (0, 0)})(env.args))
    log(f"== {title}: {seconds:.0f}s of {incident}")
    started = time.time()
    base = env.stats()
    time.sleep(seconds / 2)
    result.check = env.check()
    result.check_daemon = env.check(daemon=True)
    time.sleep(max(0.0, started + seconds - time.time()))
    fired = env.alerts.fired_since(started)
    for alert in sorted(fired):
        if (name, alert[0]) in KNOWN_BUGS:
            result.known.add(alert)
            result.note(f"known bug: {alert[0]} ({alert[1]}) fired: {KNOWN_BUGS[(name, alert[0])]}")
        else:
            result.unexpected.add(alert)
    if result.unexpected and problems_if_alerts:
        result.problem(f"alerts fired under healthy load: {sorted(result.unexpected)}")
    for label, (code, summary) in (("check", result.check), ("check --daemon", result.check_daemon)):
        if code != 0:
            result.problem(f"{label} exited {code} under healthy load ({summary})")
    stats = env.stats()
    requests = stats["ok"] - base["ok"]
    result.note(f"{requests} requests and jobs in {seconds:.0f}s ({requests / seconds:.0f}/s), "
                f"{stats['queuepool_timeouts'] - base['queuepool_timeouts']} QueuePool timeouts")
    result.seconds = time.time() - started
    return result


def settle(env, timeout=60):
    """Waits until no alert fires; returns what still fires after the timeout."""
    wait_until(lambda: not env.alerts.firing_now(), timeout, step=0.5)
    return sorted({(k[0], k[1]) for k in env.alerts.firing_now()})


def run_scenario(env, scenario):
    result = Result(scenario)
    log(f"== {scenario.title}: {scenario.incident}")
    env.stats_base = {name: env.stats([name]) for name in list(REPLICAS) + list(EXTRA_WEB)}
    lingering = {k[0] for k in env.alerts.firing_now()}
    t0 = time.time()
    try:
        scenario.start(env)
        reference = t0 + scenario.threshold
        seen = wait_until(lambda: scenario.signal_on(env.scrape()),
                          scenario.threshold + scenario.detect_timeout, step=0.2)
        if seen is None:
            result.problem(f"not detected: {scenario.signal} never held")
        else:
            result.detected = max(0.0, t0 + seen - reference)
            log(f"  detected: {scenario.signal} after {t0 + seen - t0:.1f}s")

        def all_fired():
            return all(env.alerts.first_firing(n, t0, s) for n, s in scenario.expected)
        wait_until(all_fired, scenario.threshold + scenario.alert_timeout, step=0.5)
        for name, severity in scenario.expected:
            first = env.alerts.first_firing(name, t0, severity)
            if first is None:
                result.problem(f"{name} ({severity}) did not fire")
            else:
                result.alerts[(name, severity)] = first - t0
        for code_slot, daemon in (("check", False), ("check_daemon", True)):
            setattr(result, code_slot, env.check(daemon=daemon))
        for (code, summary), want, label in (
                (result.check, scenario.check_expected[0], "check"),
                (result.check_daemon, scenario.check_expected[1], "check --daemon")):
            if code != want:
                result.problem(f"{label} exited {code}, expected {want} ({summary})")
        scenario.during(env, result)
    except Exception as e:  # noqa: BLE001 - the scenario fails, the suite goes on
        result.problem(f"the scenario broke: {e!r}")
        traceback.print_exc()
    finally:
        t1 = time.time()
        try:
            scenario.stop(env)
        except Exception as e:  # noqa: BLE001
            result.problem(f"removing the cause failed: {e!r}")
    cleared = wait_until(lambda: scenario.signal_off(env.scrape()), scenario.resolve_timeout)
    result.cleared = None if cleared is None else time.time() - t1
    if cleared is None:
        result.problem("the signal did not clear after the cause was removed")
    expected_names = {n for n, _ in scenario.expected}
    resolved = wait_until(lambda: not any(env.alerts.is_firing(n) for n in expected_names),
                          scenario.resolve_timeout, step=0.5)
    if resolved is None:
        result.problem(f"{sorted(expected_names)} still firing {scenario.resolve_timeout:.0f}s "
                       "after the cause was removed")
    else:
        result.resolved = time.time() - t1
    time.sleep(1)
    for alert in sorted(env.alerts.fired_since(t0)):
        name = alert[0]
        if name in expected_names:
            continue
        if name in scenario.tolerated:
            result.tolerated.add(alert)
        elif name in lingering:
            result.note(f"{name} was still firing from before")
        elif (scenario.name, name) in KNOWN_BUGS:
            result.known.add(alert)
            result.note(f"known bug: {name} fired: {KNOWN_BUGS[(scenario.name, name)]}")
        else:
            result.unexpected.add(alert)
            result.problem(f"{name} ({alert[1]}) fired, which this incident does not explain")
    for name in sorted(expected_names):
        result.routes[name] = env.webhook.receivers(name, t0)
    result.seconds = time.time() - t0
    still = settle(env)
    if still:
        result.note(f"still firing {60}s after: {still}")
    return result


# ---------------------------------------------------------------- the table
def fmt_polls(seconds):
    if seconds is None:
        return "**no**"
    return f"{seconds / INTERVAL:.1f}"


def fmt_seconds(seconds):
    return "—" if seconds is None else f"{seconds:.0f} s"


def table(results, args, elapsed):
    lines = [
        f"Run: `tests/scenarios/run.sh{' --short' if args.short else ''}`, "
        f"{time.strftime('%Y-%m-%d')}, {elapsed / 60:.1f} min; pgpulse polls every "
        f"{INTERVAL:g} s; rules time-compressed x{RULE_TIME_FACTOR} (for: 5m is 5 s).",
        "",
        "| Scenario | Incident | pgpulse signal | Detected (polls) | Alert (severity, after) "
        "| Routed to | check / --daemon (expected) | Resolved after | Other alerts | Result |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r.scenario
        if s.expected:
            alerts = "<br>".join(
                f"{n} ({sev}, {r.alerts[(n, sev)]:.0f} s)" if (n, sev) in r.alerts
                else f"**{n} ({sev}) did not fire**" for n, sev in s.expected)
            routed = "<br>".join(f"{n}: {', '.join(v) or '—'}" for n, v in r.routes.items())
            detected = fmt_polls(r.detected) + (
                f" (after the {s.threshold:.0f} s threshold)" if s.threshold else "")
            signal = f"`{s.signal}`"
        else:
            alerts, routed, detected, signal = "none expected", "—", "—", "—"
        codes = f"{r.check[0]} / {r.check_daemon[0]} ({s.check_expected[0]} / " \
                f"{s.check_expected[1]})"
        others = []
        others += [f"{n} ({sev}): tolerated" for n, sev in sorted(r.tolerated)]
        others += [f"**{n} ({sev}): known bug**" for n, sev in sorted(r.known)]
        others += [f"**{n} ({sev}): unexpected**" for n, sev in sorted(r.unexpected)]
        resolved = "—" if not s.expected else (
            f"{fmt_seconds(r.resolved)} (signal {fmt_seconds(r.cleared)})")
        verdict = "PASS" if not r.problems else "**FAIL**"
        lines.append(f"| {s.title} | {s.incident} | {signal} | {detected} | {alerts} | {routed} "
                     f"| {codes} | {resolved} | {'<br>'.join(others) or 'none'} | {verdict} |")
    lines.append("")
    lines.append("Notes:")
    lines.append("")
    for r in results:
        for note in r.notes:
            lines.append(f"- {r.scenario.title}: {note}")
        for problem in r.problems:
            lines.append(f"- {r.scenario.title}: **problem: {problem}**")
        for name, why in sorted(r.scenario.tolerated.items()):
            if any(n == name for n, _ in r.tolerated):
                lines.append(f"- {r.scenario.title}: {name} tolerated: {why}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="CI's subset, under 3 minutes")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--strict", action="store_true", help="known bugs fail the run too")
    parser.add_argument("--keep-logs", help="copy every log here at the end")
    args = parser.parse_args()

    def terminate(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    started = time.time()
    env = Environment(args)
    results = []
    try:
        env.start_postgres()
        env.start_proxy()
        env.start_pgpulse()
        env.start_alerting()
        for name in REPLICAS:
            env.start_replica(name)
        log("warming up: pools fill, pgpulse's trend window and Prometheus get their first "
            "samples")
        wait_until(lambda: env.scrape().sum("pgpulse_pool_connections") >= 8, 30)
        time.sleep(duration_seconds(IDLE_TREND_WINDOW) + 2)
        warm = sorted(env.alerts.fired_since(started))
        if warm:
            log(f"  alerts during warm-up: {warm}")
        results.append(quiet_phase(env, "healthy", "Healthy load",
                                   "3 web replicas, 2 workers, reports: SQLAlchemy pools per "
                                   "replica, each from its own address",
                                   25 if args.short else 180))
        if warm:
            results[-1].problem(f"alerts fired while the pools warmed up: {warm}")
        only = set(args.only.split(",")) if args.only else None
        for cls in SCENARIOS:
            scenario = cls(args)
            if only is not None and scenario.name not in only:
                continue
            if only is None and args.short and not scenario.short:
                continue
            results.append(run_scenario(env, scenario))
        results.append(quiet_phase(env, "recovered", "After the incidents",
                                   "the same load again, after the last incident "
                                   "(30 s: the compressed half hour of rule windows)",
                                   35))
    except KeyboardInterrupt:
        log("interrupted")
        results.append(None)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        results.append(None)
    finally:
        env.close(args.keep_logs)
    elapsed = time.time() - started
    broken = results and results[-1] is None
    results = [r for r in results if r is not None]
    text = table(results, args, elapsed)
    print()
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    failed = [r.scenario.title for r in results if r.problems]
    known = [r.scenario.title for r in results if r.known]
    print(f"scenarios: {len(results) - len(failed)} passed, {len(failed)} failed "
          f"in {elapsed:.0f}s" + (f"; known bugs in {known}" if known else ""))
    if broken or failed or (args.strict and known):
        sys.exit(1)


if __name__ == "__main__":
    main()
