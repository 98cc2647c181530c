"""The scenario suite's tools: constants, processes, /metrics parsing, the time-compressed
rules, Prometheus' and Alertmanager's watchers, and the base of every scenario."""
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

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
    # "Restarted within the last 15 minutes" (and 3 times within an hour): uncompressed, one
    # restart would keep it firing through every later scenario.
    "PostgresRestarted",
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
    # None open. PostgresConnectionIssuesPersistent after a single outage was one, fixed in the
    # rule (10m windows under its 30m hold).
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
