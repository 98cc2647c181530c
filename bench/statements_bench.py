"""Issue 15: the statements collector's poll with 5,000 statements tracked, beside
postgres_exporter's pg_stat_statements query.

pgpulse runs the statements collector alone, every second, while a client keeps 15 statements
busy: the same 15 ("steady": the top N (20) is stable, texts come from pgpulse's cache) or 15
others every second ("churn": new statements enter the top N at every poll, so texts are fetched
as often as pgpulse allows, every other poll: the worst case). Both with short statement texts (~60 bytes) and with 2 KB texts, where
the text file is 10 MB. Measured from pg_stat_statements itself (pgpulse's role only): queries,
database time and temp blocks written per poll, plus server CPU, wall time and series.

Debian 12's postgres_exporter (0.11.1) has no stat_statements collector (0.12 added one); its
example queries.yaml has a pg_stat_statements query with the pre-13 column names (total_time),
which fails on 13+. The peer runs that query with the 13+ names: the classic shape, every entry
with its text through the pg_stat_statements view, one series per statement and metric.
"""
import os
import re
import statistics
import threading
import time

from pgclient import Conn
from procstat import CpuMeter
import workloads as wl

OTHER_COLLECTORS = ("connections", "idle_trend", "long_queries", "locks", "pools", "rls")
PEER_EXAMPLE = "/usr/share/doc/prometheus-postgres-exporter/examples/queries.yaml"
BUSY = 15  # statements the client keeps busy at a time: fewer than the top N


def distinct_statements(su, count, pad_bytes):
    """`count` distinct top-level statements (ordered column triples of pg_class); with
    pad_bytes, each text carries a comment of that size (pg_stat_statements keeps comments)."""
    columns = [r[0] for r in su.query(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'pg_class'::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum")]
    pad = f" /* {'x' * pad_bytes} */" if pad_bytes else ""
    out = []
    for a in columns:
        for b in columns:
            for c in columns:
                if len({a, b, c}) < 3:
                    continue
                out.append(f"SELECT {a}, {b}, {c}{pad} FROM pg_class LIMIT 0")
                if len(out) == count:
                    return out
    return out


def run_statements(conn, statements, batch=100):
    for i in range(0, len(statements), batch):
        conn.query(";".join(statements[i:i + batch]))


class Busy:
    """A client running BUSY statements in a loop; with rotate, another BUSY every second."""

    def __init__(self, dsn, statements, rotate):
        self.dsn, self.statements, self.rotate = dsn, statements, rotate
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.calls = 0

    def start(self):
        self.thread.start()

    def _run(self):
        with Conn(self.dsn) as c:
            start = time.monotonic()
            while not self.stop_flag.is_set():
                window = int(time.monotonic() - start) if self.rotate else 0
                first = (window * BUSY) % (len(self.statements) - BUSY)
                run_statements(c, self.statements[first:first + BUSY] * 5)
                self.calls += 5 * BUSY
                self.stop_flag.wait(0.02)

    def stop(self):
        self.stop_flag.set()
        self.thread.join()


def statement_cost(queries, per):
    """pgpulse's statements by kind, per poll: calls, DB ms (planning included) and temp bytes."""
    out = {}
    for name, v in queries.items():
        out[name] = {"calls": v["calls"] / per, "server_ms": (v["plan_ms"] + v["exec_ms"]) / per,
                     "temp_bytes": v.get("temp_blks", 0) * 8192 / per}
    return out


def pgpulse_polls(bench, tag, statements, rotate, polls):
    args = ["--interval", "1h", "--collector.statements.interval", "1s"]
    args += [f"--no-collector.{name}" for name in OTHER_COLLECTORS]
    proc = bench.start_pgpulse(tag, args)
    busy = Busy(bench.dsn("postgres", wl.CLIENT_ROLES[0]), statements, rotate)
    busy.start()
    try:
        bench.watch_polls(proc, "statements", 2)  # the baseline, then the first top N's texts
        bench.pgss_reset(bench.PGPULSE_ROLE)
        server = bench.server_cpu(bench.PGPULSE_ROLE)
        cpu = CpuMeter(proc.pid)
        durations = bench.watch_polls(proc, "statements", polls)["statements"]
        cpu_s, _ = cpu.read()
        server_ms = server.read_ms()
        queries = bench.pgss_read(bench.PGPULSE_ROLE)
        n = len(durations)
        scans = queries.get("pgpulse statements scan (showtext := false)", {}).get("calls") or n
        _, body = bench.http_get(proc.port, "/metrics", 30)
        text = body.decode(errors="replace")
        series = [line for line in text.splitlines() if line and not line.startswith("#")]
        by_kind = statement_cost(queries, scans)
        return {
            "polls": n,
            "wall_ms_median": 1000 * statistics.median(durations),
            "wall_ms_max": 1000 * max(durations),
            "db_ms_per_poll": sum(v["server_ms"] for v in by_kind.values()),
            "temp_bytes_per_poll": sum(v["temp_bytes"] for v in by_kind.values()),
            "by_statement": by_kind,
            "server_cpu_ms_per_poll": server_ms / scans,
            "cpu_ms_per_poll": 1000 * cpu_s / n,
            "series": len(series),
            "statement_series": sum(1 for line in series if line.startswith("pgpulse_statement")),
            "tracked": _value(text, "pgpulse_statements_tracked"),
            "client_calls": busy.calls,
        }
    finally:
        busy.stop()
        proc.stop()


def _value(text, name):
    m = re.search(rf"^{name}{{[^}}]*}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def peer_queries_file(out_dir):
    """The Debian example's pg_stat_statements query with PostgreSQL 13's column names."""
    text = open(PEER_EXAMPLE).read()
    block = re.search(r"^pg_stat_statements:\n(?:[ \t].*\n|\n)*", text, re.M).group(0)
    for old, new in (("total_time", "total_exec_time"), ("min_time", "min_exec_time"),
                     ("max_time", "max_exec_time"), ("mean_time", "mean_exec_time"),
                     ("stddev_time", "stddev_exec_time")):
        block = re.sub(rf"\b{old} /", f"{new} /", block)
    path = os.path.join(out_dir, "peer-pg_stat_statements.yaml")
    with open(path, "w") as f:
        f.write(block)
    return path


def peer_scrapes(bench, tag, scrapes):
    path = peer_queries_file(bench.out)
    proc = bench.start_peer(tag, [f"--extend.query-path={path}"])
    try:
        bench.seq_scrapes(proc.port, 2)
        bench.pgss_reset(bench.PEER_ROLE)
        server = bench.server_cpu(bench.PEER_ROLE)
        seq = bench.seq_scrapes(proc.port, scrapes, proc.pid)
        server_ms = server.read_ms()
        queries = bench.pgss_read(bench.PEER_ROLE)
        by_kind = statement_cost(queries, scrapes)
        pgss = by_kind.get("postgres_exporter pg_stat_statements (queries.yaml)", {})
        return {"scrapes": scrapes, "latency": seq["latency"], "bytes": seq["bytes"],
                "series": seq["series"], "cpu_ms_per_scrape": seq.get("cpu_ms_per_scrape"),
                "pgss_query_ms_per_scrape": pgss.get("server_ms"),
                "pgss_query_temp_bytes_per_scrape": pgss.get("temp_bytes"),
                "db_ms_per_scrape": sum(v["server_ms"] for v in by_kind.values()),
                "temp_bytes_per_scrape": sum(v["temp_bytes"] for v in by_kind.values()),
                "server_cpu_ms_per_scrape": server_ms / scrapes}
    finally:
        proc.stop()


def run(bench, count, polls, peer_scrape_count, log):
    results = {"statements": count}
    for variant, pad in (("short_texts", 0), ("long_texts", 2000)):
        bench.su.query("SELECT pg_stat_statements_reset()")
        statements = distinct_statements(bench.su, count, pad)
        with Conn(bench.dsn("postgres", wl.CLIENT_ROLES[0])) as c:
            run_statements(c, statements)
        tracked = int(bench.su.scalar("SELECT count(*) FROM pg_stat_statements(false)"))
        text_bytes = int(bench.su.scalar("SELECT sum(length(query)) FROM pg_stat_statements"))
        log(f"  statements ({variant}): {tracked} tracked, {text_bytes / 1e6:.1f} MB of text")
        v = {"tracked_before": tracked, "text_bytes": text_bytes}
        for mode, rotate in (("steady", False), ("churn", True)):
            v[mode] = pgpulse_polls(bench, f"stmt-{variant}-{mode}", statements, rotate, polls)
            log(f"    pgpulse {mode}: {v[mode]['db_ms_per_poll']:.2f} ms DB, "
                f"{v[mode]['temp_bytes_per_poll'] / 1024:.0f} KiB temp per poll, "
                f"{v[mode]['series']} series")
        v["peer"] = peer_scrapes(bench, f"stmt-{variant}", peer_scrape_count)
        log(f"    postgres_exporter: {v['peer']['pgss_query_ms_per_scrape'] or 0:.2f} ms DB, "
            f"{(v['peer']['pgss_query_temp_bytes_per_scrape'] or 0) / 1024:.0f} KiB temp per "
            f"scrape, {v['peer']['series']} series")
        results[variant] = v
        bench.save_part("statements", results)
    return results
