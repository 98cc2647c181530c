#!/usr/bin/env python3
"""Old against new pgpulse on the rls scan of workload (c): 10,000 tables (see workloads.py), only
the rls collector running, the two binaries alternating so that a noisy machine hurts both alike.

    mkdir -p /tmp/pg && scripts/pg_test_server.sh start /tmp/pg && . /tmp/pg/env
    python3 bench/rls_ab.py OLD_PGPULSE NEW_PGPULSE [--rounds 6] [--scans 5]

Creates the database bench_tables on the first run (about a minute). Each round starts each binary
once, waits for a first scan (not counted), then times --scans scans. Per process: the collector's
own pgpulse_collector_duration_seconds{collector="rls"}, server time per statement
(pg_stat_statements, plan + execution), pgpulse CPU per scan (/proc, /metrics reads included),
VmHWM, and RssAnon both sampled every 50 ms during the scans and one second after the last.
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgclient import Conn  # noqa: E402
import workloads  # noqa: E402

ROLE = "rls_ab_monitor"
DB = "bench_tables"
TABLES = 10000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rls_metrics(port):
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    out = {}
    for m in re.finditer(r'^pgpulse_collector_(duration_seconds|last_success_timestamp_seconds)'
                         r'\{[^}]*collector="rls"[^}]*\} (\S+)$', body, re.M):
        out[m.group(1)] = float(m.group(2))
    return out


def proc_status(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        if key in ("VmHWM", "RssAnon"):
            out[key] = int(value.split()[0])
    return out


def cpu_ms(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def statement(query):
    if "polqual" in query or "pg_policies" in query:
        return "policies"
    if "relrowsecurity" in query:
        return "tables"
    return None


def setup(host, port):
    su = Conn(f"host={host} port={port} user=postgres dbname=postgres")
    su.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    su.query(f"DO $$ BEGIN CREATE ROLE {ROLE} LOGIN IN ROLE pg_monitor; "
             f"EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    if not int(su.scalar(f"SELECT count(*) FROM pg_database WHERE datname = '{DB}'")):
        workloads.create_database(su, DB)
    with Conn(f"host={host} port={port} user=postgres dbname={DB}") as db:
        have = workloads.count_tables(db)
        if have < TABLES:
            print(f"creating tables {have}..{TABLES - 1} in {DB}", flush=True)
            workloads.create_tables(db, have, TABLES)
            db.query("VACUUM ANALYZE")
    return su


def run(su, binary, host, port, scans):
    http = free_port()
    proc = subprocess.Popen(
        [binary, "--dsn", f"host={host} port={port} user={ROLE} dbname=postgres",
         "--target-name", "ab", "--web.listen-address", f"127.0.0.1:{http}", "--log.level",
         "warn", "--interval", "1h", "--collector.rls.interval", "3s",
         "--rls.databases.include", DB],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    role_oid = su.scalar(f"SELECT oid FROM pg_roles WHERE rolname = '{ROLE}'")
    try:
        seen, durations, anon_max, tick, cpu0 = None, [], 0, 0, 0.0
        deadline = time.monotonic() + 120 + 20 * scans
        while len(durations) < scans:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{binary}: the rls scans did not complete")
            time.sleep(0.05)
            tick += 1
            try:
                anon_max = max(anon_max, proc_status(proc.pid)["RssAnon"])
                if tick % 5:
                    continue  # RssAnon every 50 ms, /metrics every 250 ms
                m = rls_metrics(http)
            except OSError:
                continue
            ts = m.get("last_success_timestamp_seconds")
            if not ts or ts == seen:
                continue
            if seen is None:  # the first scan warms up; the measured window opens here
                su.query(f"SELECT pg_stat_statements_reset({role_oid})")
                cpu0 = cpu_ms(proc.pid)
            else:
                durations.append(1000 * m["duration_seconds"])
            seen = ts
        cpu = (cpu_ms(proc.pid) - cpu0) / scans
        server = {}
        for query, calls, ms in su.query(
                f"SELECT query, calls, total_plan_time + total_exec_time FROM pg_stat_statements "
                f"WHERE userid = {role_oid}"):
            name = statement(query)
            if name:
                c, t = server.get(name, (0, 0.0))
                server[name] = (c + int(calls), t + float(ms))
        time.sleep(1)
        status = proc_status(proc.pid)
        return {"scan_ms": statistics.median(durations), "cpu_ms": cpu,
                "tables_ms": server["tables"][1] / server["tables"][0],
                "policies_ms": server["policies"][1] / server["policies"][0],
                "VmHWM": status["VmHWM"], "RssAnon_max": anon_max, "RssAnon_end": status["RssAnon"]}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--scans", type=int, default=5)
    args = ap.parse_args()
    host = os.environ.get("PGPULSE_TEST_PGHOST", "127.0.0.1")
    port = os.environ["PGPULSE_TEST_PGPORT"]
    su = setup(host, port)
    # Entries with invalid UTF-8 (the hostile-names test) would fail the reads below.
    su.query("SELECT pg_stat_statements_reset()")
    results = {"old": [], "new": []}
    for r in range(args.rounds):
        order = [("old", args.old), ("new", args.new)]
        for tag, binary in order if r % 2 == 0 else reversed(order):
            res = run(su, binary, host, port, args.scans)
            results[tag].append(res)
            print(tag, {k: round(v, 1) for k, v in res.items()}, flush=True)
    print("\nmedian over processes (each process: median of its scans)")
    print(f"{'':4} {'scan ms':>8} {'tables ms':>10} {'policies ms':>12} {'CPU ms':>7} "
          f"{'VmHWM KiB':>10} {'RssAnon max':>12} {'RssAnon end':>12}")
    for tag in ("old", "new"):
        med = {k: statistics.median(r[k] for r in results[tag]) for k in results[tag][0]}
        print(f"{tag:4} {med['scan_ms']:8.0f} {med['tables_ms']:10.0f} {med['policies_ms']:12.0f} "
              f"{med['cpu_ms']:7.0f} {med['VmHWM']:10.0f} {med['RssAnon_max']:12.0f} "
              f"{med['RssAnon_end']:12.0f}")


if __name__ == "__main__":
    main()
