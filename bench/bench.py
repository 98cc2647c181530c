#!/usr/bin/env python3
"""pgpulse vs prometheus-postgres-exporter, side by side on one throwaway PostgreSQL.

Run through bench/run.sh, which starts the server and checks the dependencies. This script creates
the workloads, runs each exporter in turn against each, and writes results.json and summary.md to
the output directory. No timed assertions: it measures and reports.
"""
import argparse
import datetime
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from httpscrape import Scraper, count_series, parse_metrics  # noqa: E402
from pgclient import Conn  # noqa: E402
from procstat import CLK_TCK, CpuMeter, memory_kib  # noqa: E402
import statements_bench  # noqa: E402
import workloads as wl  # noqa: E402

PGPULSE_ROLE = "bench_pgpulse"
PEER_ROLE = "bench_peer"

FULL = dict(
    idle_conns=100,                # workload (a)
    conn_ramp=[250, 500, 1000],    # growth points; the last is workload (b)
    table_ramp=[1000, 3000, 10000],  # growth points; the last is workload (c)
    dbs=20, tables_per_db=100,     # workload (d)
    scale_dbs=100,                 # issue 4: databases per target (tables_per_db each)
    seq_scrapes=1000, peer_seq_scrapes=1000,
    wrk_seconds=5, fast_polls=10, rls_scans=5, idle_seconds=5,
    stability_scrapes=10000,
    statements=5000, statement_polls=10, peer_statement_scrapes=10,  # issue 15
)
QUICK = dict(
    idle_conns=100, conn_ramp=[250, 1000], table_ramp=[1000, 3000],
    dbs=20, tables_per_db=20, scale_dbs=40,
    seq_scrapes=1000, peer_seq_scrapes=200,
    wrk_seconds=2, fast_polls=4, rls_scans=2, idle_seconds=2,
    stability_scrapes=10000,
    statements=5000, statement_polls=5, peer_statement_scrapes=5,
)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def latency_stats(seconds):
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "median_ms": statistics.median(ms), "p99_ms": percentile(ms, 99),
            "mean_ms": statistics.fmean(ms), "min_ms": min(ms), "max_ms": max(ms)}


def clean_env():
    """No PG*, PGPULSE_* or DATA_SOURCE_NAME leaks from the caller into the exporters."""
    return {k: v for k, v in os.environ.items()
            if not (k.startswith("PG") or k == "DATA_SOURCE_NAME")}


class Proc:
    running = []

    def __init__(self, cmd, env, log_path):
        self.cmd = cmd
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.p.pid
        Proc.running.append(self)

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        if self in Proc.running:
            Proc.running.remove(self)

    @classmethod
    def stop_all(cls):
        for proc in list(cls.running):
            proc.stop()


def http_get(port, path, timeout=5.0):
    s = Scraper("127.0.0.1", port, path, timeout=timeout)
    try:
        _, status, body = s.get()
        return status, body
    finally:
        s.close()


def wait_until(predicate, timeout, what, proc=None, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{what}: process exited (see its log)")
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(step)
    raise RuntimeError(f"timed out waiting for {what}")


class ServerCpu:
    """CPU the PostgreSQL server spends for one exporter: its backends' schedstat (exact), plus
    the CPU of backends that exited in the window (short catalog connections, parallel workers),
    which the kernel adds to the postmaster's cutime/cstime (10 ms ticks). Autovacuum is off in
    the benchmark server, so nothing else exits meanwhile."""

    def __init__(self, su, role, application=None):
        self.su, self.role, self.application = su, role, application
        self.pids = {}
        self.postmaster = None
        self._scan()
        self.children0 = self._children()

    def _scan(self):
        where = f"usename = '{self.role}'"
        if self.application:
            where += f" AND application_name = '{self.application}'"
        for (pid,) in self.su.query(f"SELECT pid FROM pg_stat_activity WHERE {where}"):
            pid = int(pid)
            if pid not in self.pids:
                self.pids[pid] = self._ns(pid)
            if self.postmaster is None:
                with open(f"/proc/{pid}/stat") as f:
                    self.postmaster = int(f.read().rsplit(")", 1)[1].split()[1])

    @staticmethod
    def _ns(pid):
        try:
            with open(f"/proc/{pid}/schedstat") as f:
                return int(f.read().split()[0])
        except OSError:
            return None

    def _children(self):
        if self.postmaster is None:
            return 0
        with open(f"/proc/{self.postmaster}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[13]) + int(fields[14])

    def start_new(self):
        """Backends that appear after construction count from their start: record them at 0."""
        known = set(self.pids)
        self._scan()
        for pid in set(self.pids) - known:
            self.pids[pid] = 0

    def read_ms(self):
        self.start_new()
        live = 0.0
        for pid, start in self.pids.items():
            now = self._ns(pid)
            if now is not None and start is not None:
                live += (now - start) / 1e6
        exited = (self._children() - self.children0) * 1000 / CLK_TCK
        return live + exited


class ConnSampler:
    """Samples pg_stat_activity every 50 ms: sessions held by each exporter's role (and by
    application_name, so pgpulse's catalog sessions show apart from its main one)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.thread = None

    def start(self):
        self.stop_flag = threading.Event()
        self.totals = {PGPULSE_ROLE: [], PEER_ROLE: []}
        self.by_app = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        with Conn(self.ctx.dsn("postgres")) as c:
            while not self.stop_flag.is_set():
                rows = c.query(f"SELECT usename, coalesce(application_name, ''), count(*) "
                               f"FROM pg_stat_activity WHERE usename IN "
                               f"('{PGPULSE_ROLE}', '{PEER_ROLE}') GROUP BY 1, 2")
                total = {PGPULSE_ROLE: 0, PEER_ROLE: 0}
                for role, app, n in rows:
                    total[role] += int(n)
                    key = f"{role}/{app or '-'}"
                    self.by_app[key] = max(self.by_app.get(key, 0), int(n))
                for role in total:
                    self.totals[role].append(total[role])
                self.stop_flag.wait(0.05)

    def stop(self):
        self.stop_flag.set()
        self.thread.join()
        out = {}
        for role, samples in self.totals.items():
            if samples:
                out[role] = {"min": min(samples), "max": max(samples),
                             "median": statistics.median(samples), "samples": len(samples)}
        out["max_by_application"] = self.by_app
        return out


def classify_query(text):
    t = " ".join(text.split())
    if t.upper().startswith("SET "):
        return "session setup (SET ...)"
    if "pg_blocking_pids" in t or "FROM pg_stat_activity" in t and "backend_type" in t:
        return "pgpulse activity (pg_stat_activity)"
    if "superuser_reserved_connections" in t:
        return "pgpulse settings and limits"
    if "waitstart" in t:
        return "pgpulse lock wait start"
    if "bypass" in t and "pg_database" in t:
        return "rls cluster (databases, bypass roles)"
    if "polrelid" in t:
        return "rls tables (pg_class, pg_policy, pg_attribute, pg_stat_user_tables)"
    if "pg_policies" in t:
        return "rls policies (pg_policies)"
    # pg_stat_statements shows pgpulse's pg_stat_statements(false) and (true) as ($n).
    if re.search(r"pg_stat_statements\((true|\$\d+)\) s\b", t):
        return "pgpulse statements text (showtext := true)"
    if re.search(r"pg_stat_statements\((false|\$\d+)\)", t):
        return ("pgpulse statements probe" if "count(" in t
                else "pgpulse statements scan (showtext := false)")
    if "FROM pg_database WHERE oid = ANY" in t:
        return "pgpulse statements names (pg_database, pg_roles)"
    if "pg_stat_statements_info" in t or "pg_stat_statements.max" in t:
        return "pgpulse statements header (clock, max, pg_stat_statements_info)"
    if "pg_read_all_stats" in t:
        return "pgpulse statements support (extension, privilege)"
    if "FROM pg_stat_statements t1" in t:
        return "postgres_exporter pg_stat_statements (queries.yaml)"
    return t[:90]


class Bench:
    PGPULSE_ROLE, PEER_ROLE = PGPULSE_ROLE, PEER_ROLE
    http_get = staticmethod(http_get)

    def __init__(self, args):
        self.args = args
        self.cfg = QUICK if args.quick else FULL
        self.host, self.port = args.host, args.port
        self.out = args.out
        os.makedirs(os.path.join(self.out, "logs"), exist_ok=True)
        self.results = {"config": self.cfg, "quick": args.quick, "workloads": {},
                        "growth": {"connections": [], "tables": []}, "rls_scale": []}
        self.su = Conn(self.dsn("postgres"))
        self.su.query("SET client_min_messages = error")
        self.clients = wl.ClientPool(self.host, self.port)
        self.sampler = ConnSampler(self)

    def dsn(self, dbname, user="postgres"):
        return f"host={self.host} port={self.port} user={user} dbname={dbname} sslmode=disable"

    # ---------------------------------------------------------------------------------------
    # environment

    def describe(self):
        info = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "nproc": os.cpu_count(), "load_average_at_start": os.getloadavg()}
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total_gib"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
        info["kernel"] = os.uname().release
        info["pgpulse_binary"] = self.args.pgpulse
        info["pgpulse_version"] = subprocess.run([self.args.pgpulse, "--version"],
                                                 capture_output=True, text=True).stdout.strip()
        peer = subprocess.run([self.args.peer, "--version"], capture_output=True, text=True)
        info["peer_binary"] = self.args.peer
        info["peer_version"] = (peer.stdout + peer.stderr).strip().splitlines()[0]
        info["postgres_version"] = self.su.scalar("SELECT version()")
        info["postgres_settings"] = dict(self.su.query(
            "SELECT name, setting FROM pg_settings WHERE name IN ('max_connections', "
            "'shared_buffers', 'fsync', 'pg_stat_statements.track_planning', "
            "'client_connection_check_interval')"))
        self.results["machine"] = info
        log(f"machine: {info['nproc']} x {info.get('cpu_model')}, {info['mem_total_gib']} GiB; "
            f"{info['pgpulse_version']}; {info['peer_version']}")

    def reference_memory(self):
        """What any program linked against Debian's shared libpq starts from: an idle psql."""
        psql = "/usr/lib/postgresql/15/bin/psql"
        if not os.path.exists(psql):
            return
        p = subprocess.Popen([psql, "-X", "-q", "-c", "SELECT pg_sleep(3)", self.dsn("postgres")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=clean_env())
        time.sleep(1.5)
        try:
            self.results["machine"]["psql_memory_kib"] = memory_kib(p.pid)
        except OSError:
            pass
        p.wait()

    def setup_roles(self):
        for role in (PGPULSE_ROLE, PEER_ROLE):
            self.su.query(f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object "
                          f"THEN NULL; END $$; GRANT pg_monitor TO {role}")
        wl.create_client_roles(self.su)

    # ---------------------------------------------------------------------------------------
    # pg_stat_statements

    def pgss_reset(self, role):
        self.su.query(f"SELECT pg_stat_statements_reset((SELECT oid FROM pg_roles "
                      f"WHERE rolname = '{role}'), 0, 0)")

    def pgss_read(self, role):
        rows = self.su.query(f"""
SELECT query, sum(calls), sum(total_plan_time), sum(total_exec_time), sum(rows),
       sum(shared_blks_hit), sum(shared_blks_read), sum(temp_blks_written)
FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
WHERE r.rolname = '{role}' GROUP BY query""")
        merged = {}
        for q, calls, plan, exe, nrows, hit, read, temp in rows:
            name = classify_query(q)
            m = merged.setdefault(name, {"calls": 0, "plan_ms": 0.0, "exec_ms": 0.0, "rows": 0,
                                         "blks_hit": 0, "blks_read": 0, "temp_blks": 0})
            m["temp_blks"] += int(temp)
            m["calls"] += int(calls)
            m["plan_ms"] += float(plan)
            m["exec_ms"] += float(exe)
            m["rows"] += int(nrows)
            m["blks_hit"] += int(hit)
            m["blks_read"] += int(read)
        return merged

    @staticmethod
    def db_cost(queries, per, include=None):
        """Totals of a pgss read divided by `per` (polls or scrapes)."""
        sel = {k: v for k, v in queries.items() if include is None or include(k)}
        calls = sum(v["calls"] for v in sel.values())
        ms = sum(v["plan_ms"] + v["exec_ms"] for v in sel.values())
        rows = sum(v["rows"] for v in sel.values())
        return {"queries": calls / per, "server_ms": ms / per, "rows": rows / per,
                "distinct_statements": len(sel),
                "by_statement": {k: {"calls": v["calls"] / per,
                                     "server_ms": (v["plan_ms"] + v["exec_ms"]) / per,
                                     "rows": v["rows"] / per}
                                 for k, v in sorted(sel.items())}}

    # ---------------------------------------------------------------------------------------
    # exporters

    def start_pgpulse(self, tag, extra):
        port = free_port()
        cmd = [self.args.pgpulse, "--dsn", self.dsn("postgres", PGPULSE_ROLE),
               "--target-name", "bench", "--web.listen-address", f"127.0.0.1:{port}",
               "--log.level", "warn"] + extra
        proc = Proc(cmd, clean_env(), os.path.join(self.out, "logs", f"pgpulse-{tag}.log"))
        proc.port = port
        wait_until(lambda: http_get(port, "/healthz")[0] == 200, 20, "pgpulse /healthz", proc)
        # /readyz: connected and every collector has run once.
        wait_until(lambda: http_get(port, "/readyz", 30)[0] == 200, 300, "pgpulse /readyz", proc,
                   step=0.1)
        return proc

    def start_peer(self, tag, extra=()):
        port = free_port()
        env = clean_env()
        env["DATA_SOURCE_NAME"] = self.dsn("postgres", PEER_ROLE)
        cmd = [self.args.peer, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
               *extra]
        proc = Proc(cmd, env, os.path.join(self.out, "logs", f"peer-{tag}.log"))
        proc.port = port

        def up():
            status, body = http_get(port, "/metrics", 60)
            return status == 200 and b"\npg_up 1" in body
        wait_until(up, 60, "postgres_exporter pg_up 1", proc, step=0.2)
        return proc

    @staticmethod
    def health(port):
        _, body = http_get(port, "/metrics", 30)
        metrics = parse_metrics(body)
        out = {"duration": {}, "last_success": {}}
        for (name, labels), value in metrics.items():
            labels = dict(labels)
            if name == "pgpulse_collector_duration_seconds":
                out["duration"][labels["collector"]] = value
            elif name == "pgpulse_collector_last_success_timestamp_seconds":
                out["last_success"][labels["collector"]] = value
        return out

    def watch_polls(self, proc, collector, polls):
        """Reads pgpulse's self-metrics until `collector` has completed `polls` more runs;
        returns that collector's durations and every collector's, one per completed run."""
        durations = {}
        seen = dict(self.health(proc.port)["last_success"])
        deadline = time.monotonic() + 60 + polls * 60
        while len(durations.get(collector, [])) < polls:
            if time.monotonic() > deadline or not proc.alive():
                raise RuntimeError(f"pgpulse: {collector} did not complete {polls} runs")
            time.sleep(0.2)
            h = self.health(proc.port)
            for name, ts in h["last_success"].items():
                if ts and seen.get(name) != ts:
                    seen[name] = ts
                    durations.setdefault(name, []).append(h["duration"][name])
        return durations

    def pgpulse_fast_polls(self, tag):
        """Every collector but rls at a 1 s interval: DB cost, duration per collector and CPU
        per poll, connections held."""
        n = self.cfg["fast_polls"]
        proc = self.start_pgpulse(f"{tag}-fast", ["--interval", "1s", "--no-collector.rls"])
        try:
            self.watch_polls(proc, "connections", 1)  # past the first (connecting) poll
            self.pgss_reset(PGPULSE_ROLE)
            self.sampler.start()
            cpu = CpuMeter(proc.pid)
            server = ServerCpu(self.su, PGPULSE_ROLE)
            durations = self.watch_polls(proc, "connections", n)
            cpu_s, cpu_ticks_s = cpu.read()
            server_ms = server.read_ms()
            conns = self.sampler.stop()
            polls = len(durations["connections"])
            queries = self.pgss_read(PGPULSE_ROLE)
            activity_calls = queries.get("pgpulse activity (pg_stat_activity)", {}).get("calls")
            polls_db = activity_calls or polls  # one pg_stat_activity read per poll
            return {
                "polls": polls,
                "db": self.db_cost(queries, polls_db),
                "collector_ms": {k: 1000 * statistics.median(v) for k, v in durations.items()},
                "collector_ms_mean": {k: 1000 * statistics.fmean(v)
                                      for k, v in durations.items()},
                "server_cpu_ms_per_poll": server_ms / polls_db,
                "cpu_ms_per_poll": 1000 * cpu_s / polls,
                "cpu_ms_per_poll_ticks": 1000 * cpu_ticks_s / polls,
                "connections": conns.get(PGPULSE_ROLE),
                "connections_by_application": conns["max_by_application"],
                "memory_kib": memory_kib(proc.pid),
            }
        finally:
            proc.stop()

    def pgpulse_rls_scans(self, tag, scans=None):
        """Only the rls collector runs repeatedly: scan time, DB cost, rows, CPU per scan,
        connections held. A first run times one scan; the measured run then scans every
        max(1 s, 3 x that), so the pg_stat_statements window can open and close between scans."""
        n = scans or self.cfg["rls_scans"]
        proc = self.start_pgpulse(f"{tag}-rls-probe", ["--interval", "1h"])
        first = self.health(proc.port)["duration"].get("rls") or 0.0
        proc.stop()
        interval_ms = max(1000, math.ceil(3000 * first))
        proc = self.start_pgpulse(f"{tag}-rls", ["--interval", "1h", "--collector.rls.interval",
                                                 f"{interval_ms}ms"])
        try:
            self.watch_polls(proc, "rls", 1)
            self.pgss_reset(PGPULSE_ROLE)
            self.sampler.start()
            cpu = CpuMeter(proc.pid)
            server = ServerCpu(self.su, PGPULSE_ROLE, "pgpulse")
            durations = self.watch_polls(proc, "rls", n)
            cpu_s, _ = cpu.read()
            server_ms = server.read_ms()
            conns = self.sampler.stop()
            queries = self.pgss_read(PGPULSE_ROLE)
            scans_db = queries.get("rls cluster (databases, bypass roles)", {}).get("calls") or n
            _, body = http_get(proc.port, "/tables", 30)
            dbs = json.loads(body)["targets"][0].get("databases", [])
            return {
                "scans": len(durations["rls"]),
                "first_scan_ms": 1000 * first,
                "interval_ms": interval_ms,
                "scan_ms": [1000 * d for d in durations["rls"]],
                "scan_ms_median": 1000 * statistics.median(durations["rls"]),
                "databases": len(dbs),
                "tables": sum(d.get("tables", 0) for d in dbs),
                "failed_databases": [d["datname"] for d in dbs if not d.get("ok")],
                "db": self.db_cost(queries, scans_db),
                "cpu_ms_per_scan": 1000 * cpu_s / len(durations["rls"]),
                "server_cpu_ms_per_scan": server_ms / scans_db,
                "connections": conns.get(PGPULSE_ROLE),
                "connections_by_application": conns["max_by_application"],
                "memory_kib": memory_kib(proc.pid),
            }
        finally:
            proc.stop()

    # ---------------------------------------------------------------------------------------
    # scraping

    def seq_scrapes(self, port, n, cpu_pid=None):
        s = Scraper("127.0.0.1", port)
        lat = []
        cpu = CpuMeter(cpu_pid) if cpu_pid else None
        body = b""
        try:
            for _ in range(n):
                elapsed, status, body = s.get()
                if status != 200:
                    raise RuntimeError(f"scrape returned {status}")
                lat.append(elapsed)
        finally:
            s.close()
        out = {"latency": latency_stats(lat), "bytes": len(body), "series": count_series(body)}
        if cpu:
            cpu_s, _ = cpu.read()
            out["cpu_ms_per_scrape"] = 1000 * cpu_s / n
        return out

    def wrk(self, port, seconds, connections=10):
        cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
               "--latency", f"http://127.0.0.1:{port}/metrics"]
        out = subprocess.run(cmd, capture_output=True, text=True).stdout

        def ms(value):
            m = re.match(r"([\d.]+)(us|ms|s|m)$", value)
            number, unit = float(m.group(1)), m.group(2)
            return number * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]
        result = {"connections": connections, "seconds": seconds}
        for pct_label, key in (("50%", "median_ms"), ("99%", "p99_ms")):
            m = re.search(rf"^\s+{re.escape(pct_label)}\s+(\S+)", out, re.M)
            if m:
                result[key] = ms(m.group(1))
        m = re.search(r"(\d+) requests in", out)
        result["requests"] = int(m.group(1)) if m else 0
        m = re.search(r"Requests/sec:\s+([\d.]+)", out)
        result["requests_per_second"] = float(m.group(1)) if m else 0.0
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        result["non_2xx"] = int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: (.*)", out)
        result["socket_errors"] = m.group(1) if m else ""
        return result

    def measure_pgpulse_scrapes(self, tag):
        """The deployment shape: every collector every 15 s (rls too, its worst case)."""
        proc = self.start_pgpulse(f"{tag}-scrape", ["--interval", "15s",
                                                    "--collector.rls.interval", "15s"])
        try:
            cpu = CpuMeter(proc.pid)
            time.sleep(self.cfg["idle_seconds"])
            idle_s, _ = cpu.read()
            seq = self.seq_scrapes(proc.port, self.cfg["seq_scrapes"], proc.pid)
            mem_after = memory_kib(proc.pid)
            self.sampler.start()
            conc = self.wrk(proc.port, self.cfg["wrk_seconds"])
            conns = self.sampler.stop()
            return {"idle_cpu_ms_per_s": 1000 * idle_s / self.cfg["idle_seconds"],
                    "seq": seq, "scrapes_before_memory": self.cfg["seq_scrapes"],
                    "memory_kib": mem_after, "concurrent": conc,
                    "memory_kib_after_concurrent": memory_kib(proc.pid),
                    "connections_during_concurrent": conns.get(PGPULSE_ROLE)}
        finally:
            proc.stop()

    def measure_peer(self, tag, extra=(), seq_scrapes=None):
        n = seq_scrapes or self.cfg["peer_seq_scrapes"]
        proc = self.start_peer(tag, extra)
        try:
            self.seq_scrapes(proc.port, 3)  # warm-up: first-scrape queries (version, settings)
            self.sampler.start()
            cpu = CpuMeter(proc.pid)
            time.sleep(self.cfg["idle_seconds"])
            idle_s, _ = cpu.read()
            steady = self.sampler.stop()
            self.pgss_reset(PEER_ROLE)
            server = ServerCpu(self.su, PEER_ROLE)
            seq = self.seq_scrapes(proc.port, n, proc.pid)
            server_ms = server.read_ms()
            queries = self.pgss_read(PEER_ROLE)
            mem_after = memory_kib(proc.pid)
            self.sampler.start()
            conc = self.wrk(proc.port, self.cfg["wrk_seconds"])
            conns = self.sampler.stop()
            return {"idle_cpu_ms_per_s": 1000 * idle_s / self.cfg["idle_seconds"],
                    "seq": seq, "scrapes_before_memory": n + 3, "memory_kib": mem_after,
                    "db": self.db_cost(queries, n), "server_cpu_ms_per_scrape": server_ms / n,
                    "concurrent": conc,
                    "memory_kib_after_concurrent": memory_kib(proc.pid),
                    "connections_steady": steady.get(PEER_ROLE),
                    "connections_during_concurrent": conns.get(PEER_ROLE)}
        finally:
            proc.stop()

    def pgpulse_stability(self, tag):
        """RSS over many scrapes while snapshots churn: every collector polls every 100 ms (rls
        every 2 s) and scrapes are paced 2 ms apart, so ~10,000 scrapes span ~250 polls. The
        idle-trend history is bounded by its window (15 min by default); the window is cut to 5 s
        and filled before the first reading, so what remains is steady state."""
        n = self.cfg["stability_scrapes"]
        proc = self.start_pgpulse(f"{tag}-stability", ["--interval", "100ms",
                                                       "--collector.rls.interval", "2s",
                                                       "--idle-trend.window", "5s"])
        try:
            time.sleep(6)
            s = Scraper("127.0.0.1", proc.port)
            points = [{"scrapes": 0, **memory_kib(proc.pid)}]
            start = time.monotonic()
            lat = []
            for i in range(1, n + 1):
                elapsed, _, _ = s.get()
                lat.append(elapsed)
                if i % max(1, n // 40) == 0:
                    points.append({"scrapes": i, **memory_kib(proc.pid)})
                time.sleep(0.002)
            s.close()
            wall = time.monotonic() - start
            polls = self.health(proc.port)
            return {"scrapes": n, "seconds": wall, "points": points,
                    "latency": latency_stats(lat), "poll_interval_s": 0.1,
                    "approx_polls": wall / 0.1, "last_durations": polls["duration"]}
        finally:
            proc.stop()

    # ---------------------------------------------------------------------------------------
    # EXPLAIN of the rls table scan, for rows read in the catalogs

    def rls_tables_sql(self):
        candidates = [os.path.join(os.path.dirname(os.path.dirname(
            os.path.abspath(self.args.pgpulse))), "collectors", "rls.cpp"),
            os.path.join(os.path.dirname(HERE), "collectors", "rls.cpp")]
        for path in candidates:
            if os.path.exists(path):
                text = open(path).read()
                m = re.search(r'kRlsTablesSql = R"SQL\((.*?)\)SQL"', text, re.S)
                if m:
                    return m.group(1), path
        return None, None

    def explain_rls(self, dbname):
        sql, path = self.rls_tables_sql()
        if not sql:
            return None
        with Conn(self.dsn(dbname, PGPULSE_ROLE)) as c:
            # $1 tenant columns; since the rls-perf changes also $2, seq_scan.min_table_bytes
            # (its default, 10 MiB).
            if "$2" in sql:
                c.query(f"PREPARE rls_tables(name[], bigint) AS {sql}")
                execute = "EXECUTE rls_tables('{tenant_id}', 10485760)"
            else:
                c.query(f"PREPARE rls_tables(name[]) AS {sql}")
                execute = "EXECUTE rls_tables('{tenant_id}')"
            plan = json.loads(c.scalar(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {execute}"))[0]
        relations = {}

        def walk(node):
            rel = node.get("Relation Name") or node.get("Function Name")
            if rel and ("Scan" in node["Node Type"]):
                relations[rel] = relations.get(rel, 0) + (
                    node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * \
                    node.get("Actual Loops", 1)
            for child in node.get("Plans", []):
                walk(child)
        walk(plan["Plan"])
        top = plan["Plan"]
        return {"source": path, "execution_ms": plan.get("Execution Time"),
                "planning_ms": plan.get("Planning Time"),
                "rows_returned": top.get("Actual Rows"),
                "catalog_rows_read": sum(relations.values()),
                "rows_read_by_relation": relations,
                "shared_blocks_hit": top.get("Shared Hit Blocks"),
                "shared_blocks_read": top.get("Shared Read Blocks")}

    # ---------------------------------------------------------------------------------------
    # workloads

    def measure_all(self, key, description, extra_peer=None):
        log(f"workload {key}: {description}")
        w = {"description": description}
        log("  pgpulse: polls of the fast collectors")
        w["pgpulse_fast"] = self.pgpulse_fast_polls(key)
        log("  pgpulse: rls scans")
        w["pgpulse_rls"] = self.pgpulse_rls_scans(key)
        log("  pgpulse: scrapes")
        w["pgpulse_scrape"] = self.measure_pgpulse_scrapes(key)
        log("  postgres_exporter: scrapes")
        w["peer"] = self.measure_peer(key)
        if extra_peer:
            log(f"  postgres_exporter {' '.join(extra_peer)}: scrapes")
            w["peer_variant"] = {"flags": list(extra_peer),
                                 **self.measure_peer(key + "-variant", extra_peer,
                                                     min(200, self.cfg["peer_seq_scrapes"]))}
        w["client_backends"] = int(self.su.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"))
        self.results["workloads"][key] = w
        self.save()
        p, q = w["pgpulse_scrape"]["seq"]["latency"], w["peer"]["seq"]["latency"]
        log(f"  median scrape {p['median_ms']:.3f} ms vs {q['median_ms']:.3f} ms; "
            f"fast poll {w['pgpulse_fast']['db']['server_ms']:.2f} ms DB; "
            f"rls scan {w['pgpulse_rls']['scan_ms_median']:.0f} ms")

    def connection_growth_point(self, n):
        fast = self.pgpulse_fast_polls(f"conns{n}")
        self.results["growth"]["connections"].append({"client_sessions": n, **fast})
        log(f"  {n} sessions: poll {fast['db']['server_ms']:.2f} ms DB, "
            f"{fast['cpu_ms_per_poll']:.2f} ms CPU, connections collector "
            f"{fast['collector_ms'].get('connections', 0):.2f} ms")

    def table_growth_point(self, db, tables):
        rls = self.pgpulse_rls_scans(f"tables{tables}")
        rls["explain"] = self.explain_rls(db)
        self.results["growth"]["tables"].append({"tables_in_database": tables, **rls})
        log(f"  {tables} tables: rls scan {rls['scan_ms_median']:.0f} ms, "
            f"{rls['db']['server_ms']:.0f} ms DB, {rls['db']['rows']:.0f} rows returned")
        return rls

    def run(self):
        self.describe()
        self.reference_memory()
        self.setup_roles()
        cfg = self.cfg

        log("baseline: no client sessions")
        self.connection_growth_point(0)

        self.clients.add("idle", cfg["idle_conns"])
        self.measure_all("a", f"{cfg['idle_conns']} idle client connections")
        self.results["growth"]["connections"].append(
            {"client_sessions": cfg["idle_conns"], **self.results["workloads"]["a"]["pgpulse_fast"]})
        self.clients.close(self.su)

        log("workload (b): ramping client sessions (60% idle, 25% idle in transaction, "
            "15% active pg_sleep)")
        for n in cfg["conn_ramp"]:
            self.clients.add_mix(n)
            if n != cfg["conn_ramp"][-1]:
                self.connection_growth_point(n)
        self.measure_all("b", f"{len(self.clients)} client connections: "
                              f"{self.clients.counts['idle']} idle, "
                              f"{self.clients.counts['idle in transaction']} idle in transaction, "
                              f"{self.clients.counts['active']} active (pg_sleep)")
        self.results["growth"]["connections"].append(
            {"client_sessions": len(self.clients), **self.results["workloads"]["b"]["pgpulse_fast"]})
        log("  pgpulse: RSS over many scrapes")
        self.results["stability"] = self.pgpulse_stability("b")
        self.save()
        self.clients.close(self.su)

        log("workload (c): one database, growing to "
            f"{cfg['table_ramp'][-1]} tables")
        wl.drop_database(self.su, "bench_tables")
        wl.create_database(self.su, "bench_tables")
        made = 0
        with Conn(self.dsn("bench_tables")) as c:
            for n in cfg["table_ramp"]:
                t = time.monotonic()
                wl.create_tables(c, made, n)
                made = n
                c.query("ANALYZE")
                log(f"  created {n} tables ({time.monotonic() - t:.0f} s)")
                if n != cfg["table_ramp"][-1]:
                    self.table_growth_point("bench_tables", n)
        self.measure_all("c", f"database bench_tables with {made} tables (40% with tenant_id, "
                              "20% with a policy, 20% with RLS enabled)")
        c_rls = self.results["workloads"]["c"]["pgpulse_rls"]
        c_rls["explain"] = self.explain_rls("bench_tables")
        self.results["growth"]["tables"].append({"tables_in_database": made, **c_rls})
        self.save()
        wl.drop_database(self.su, "bench_tables")

        log(f"workload (d): {cfg['dbs']} databases x {cfg['tables_per_db']} tables")
        dbs = [f"bench_db_{i:03d}" for i in range(cfg["scale_dbs"])]
        self.create_databases(dbs[:cfg["dbs"]])
        self.measure_all("d", f"{cfg['dbs']} databases with {cfg['tables_per_db']} tables each",
                         extra_peer=["--auto-discover-databases"])
        self.results["rls_scale"].append({"databases": cfg["dbs"],
                                          **self.results["workloads"]["d"]["pgpulse_rls"]})

        log(f"issue 4 scale: {cfg['scale_dbs']} databases x {cfg['tables_per_db']} tables")
        self.create_databases(dbs[cfg["dbs"]:])
        scale = self.pgpulse_rls_scans(f"dbs{cfg['scale_dbs']}")
        scale["explain_one_database"] = self.explain_rls(dbs[0])
        self.results["rls_scale"].append({"databases": cfg["scale_dbs"], **scale})
        log(f"  {cfg['scale_dbs']} databases: rls scan {scale['scan_ms_median']:.0f} ms, "
            f"{scale['db']['server_ms']:.0f} ms DB")
        self.save()  # run.sh throws the server away: no need to drop the databases
        self.run_statements()

    def create_databases(self, names):
        t = time.monotonic()
        for name in names:
            wl.drop_database(self.su, name)
            wl.create_database(self.su, name)
            with Conn(self.dsn(name)) as c:
                wl.create_tables(c, 0, self.cfg["tables_per_db"])
                c.query("ANALYZE")
        log(f"  created {len(names)} databases ({time.monotonic() - t:.0f} s)")

    def server_cpu(self, role, application=None):
        return ServerCpu(self.su, role, application)

    def save_part(self, key, value):
        self.results[key] = value
        self.save()

    def run_statements(self):
        """Issue 15: the statements collector at 5,000 tracked statements (bench/statements_bench.py)."""
        log(f"issue 15: pg_stat_statements with {self.cfg['statements']} statements")
        statements_bench.run(self, self.cfg["statements"], self.cfg["statement_polls"],
                             self.cfg["peer_statement_scrapes"], log)

    def save(self):
        with open(os.path.join(self.out, "results.json"), "w") as f:
            json.dump(self.results, f, indent=1, sort_keys=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pgpulse", required=True)
    parser.add_argument("--peer", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["statements"],
                        help="run one part only (the machine description included)")
    args = parser.parse_args()

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    bench = Bench(args)
    try:
        if args.only == "statements":
            bench.describe()
            bench.setup_roles()
            bench.run_statements()
        else:
            bench.run()
    finally:
        Proc.stop_all()
        bench.save()
    import report
    report.write(os.path.join(args.out, "results.json"), os.path.join(args.out, "summary.md"))
    log(f"results: {args.out}/results.json, summary: {args.out}/summary.md")


if __name__ == "__main__":
    main()
