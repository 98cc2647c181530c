#!/usr/bin/env python3
"""One replica of the scenario application: SQLAlchemy 1.4 (QueuePool) over psycopg2.

    app.py ROLE --url URL --name NAME --control FILE --stats FILE
           [--pool-size N] [--max-overflow N] [--pool-timeout SECONDS]

ROLE is what the process plays, each with its own pool, as in a real deployment:
  web      a web API replica: THREADS request threads, each request one short transaction that
           sets the tenant (app.current_tenant_id) and reads that tenant's tickets
  worker   a Celery-like worker: jobs that write an invoice for a tenant and read a ticket
  reports  a reporting service, which can leak its sessions (never closed)

The suite steers a running replica through its control FILE (JSON, re-read when it changes):
  threads, think, query_seconds      request concurrency, pause between requests, and a
                                     pg_sleep inside each request (a slow endpoint)
  stall: {token, seconds}            worker: one job (once per token) opens a transaction, reads
                                     tickets and then waits (an external call that hangs): idle
                                     in transaction, holding its lock, until the time is up or
                                     the stall is removed
  leak_per_second                    reports: sessions opened and never closed
  release_leaked                     reports: close the leaked sessions (the fix, deployed)

Every second it writes cumulative counters to the stats FILE (JSON): ok, queuepool_timeouts,
errors by kind, cross_tenant_rows (rows of other tenants a request could read: 0 while RLS
holds), leaked.
"""
import argparse
import json
import os
import random
import signal
import sys
import threading
import time

from sqlalchemy import create_engine, exc, text
from sqlalchemy.orm import sessionmaker

TENANTS = 5


class Replica:
    def __init__(self, args):
        self.args = args
        self.engine = create_engine(
            args.url,
            pool_size=args.pool_size,
            max_overflow=args.max_overflow,
            pool_timeout=args.pool_timeout,
            pool_pre_ping=True,
            connect_args={"application_name": args.app_name, "connect_timeout": 3},
        )
        self.Session = sessionmaker(bind=self.engine, future=True)
        self.control = {}
        self.control_mtime = None
        self.lock = threading.Lock()
        self.stats = {"ok": 0, "queuepool_timeouts": 0, "errors": {}, "cross_tenant_rows": 0,
                      "leaked": 0, "stalled": 0}
        self.leaked = []
        self.stop = threading.Event()
        self.threads = []
        self.stalled_token = None

    # ------------------------------------------------------------ bookkeeping
    def count(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def error(self, kind):
        with self.lock:
            self.stats["errors"][kind] = self.stats["errors"].get(kind, 0) + 1

    def read_control(self):
        try:
            mtime = os.stat(self.args.control).st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self.control_mtime:
            return
        try:
            with open(self.args.control) as f:
                self.control = json.load(f)
            self.control_mtime = mtime
        except (OSError, ValueError):
            pass  # half-written: read again next time

    def setting(self, key, default):
        return self.control.get(key, default)

    def write_stats(self):
        with self.lock:
            snapshot = json.dumps(self.stats)
        tmp = self.args.stats + ".tmp"
        with open(tmp, "w") as f:
            f.write(snapshot)
        os.replace(tmp, self.args.stats)

    # ------------------------------------------------------------ work
    def run_safely(self, work):
        try:
            work()
            self.count("ok")
        except exc.TimeoutError:  # "QueuePool limit of size N overflow M reached ... timed out"
            self.count("queuepool_timeouts")
        except exc.DBAPIError as e:
            message = str(e.orig) if e.orig is not None else str(e)
            if "row-level security" in message:
                self.error("rls_violation")
            elif "too many clients" in message or "too many connections" in message:
                self.error("too_many_connections")
            elif e.connection_invalidated or isinstance(e, exc.OperationalError):
                self.error("connection")
            else:
                self.error(type(e.orig).__name__ if e.orig is not None else "dbapi")
            time.sleep(0.2)
        except Exception as e:  # noqa: BLE001 - a replica keeps serving, as a real one would
            self.error(type(e).__name__)
            time.sleep(0.2)

    def set_tenant(self, session, tenant):
        session.execute(text("SELECT set_config('app.current_tenant_id', :t, true)"),
                        {"t": str(tenant)})

    def web_request(self):
        tenant = random.randint(1, TENANTS)
        query_seconds = float(self.setting("query_seconds", 0))
        with self.Session() as session, session.begin():
            self.set_tenant(session, tenant)
            total, others = session.execute(
                text("SELECT count(*), count(*) FILTER (WHERE tenant_id <> :t) FROM tickets "
                     "WHERE id % 20 = :k"), {"t": tenant, "k": random.randint(0, 19)}).one()
            if others:
                self.count("cross_tenant_rows", others)
            if query_seconds > 0:
                session.execute(text("SELECT pg_sleep(:s)"), {"s": query_seconds})

    def worker_job(self):
        tenant = random.randint(1, TENANTS)
        with self.Session() as session, session.begin():
            self.set_tenant(session, tenant)
            session.execute(text("INSERT INTO invoices (tenant_id, amount) VALUES (:t, :a)"),
                            {"t": tenant, "a": random.randint(1, 1000)})
            session.execute(text("SELECT id FROM tickets WHERE tenant_id = :t LIMIT 1"),
                            {"t": tenant})

    def stalled_job(self, stall):
        """A job that opens a transaction and then waits on something else."""
        self.count("stalled")
        until = time.time() + float(stall.get("seconds", 0))
        with self.Session() as session, session.begin():
            self.set_tenant(session, 1)
            session.execute(text("SELECT count(*) FROM tickets"))
            while (not self.stop.is_set() and time.time() < until
                   and (self.setting("stall", None) or {}).get("token") == stall.get("token")):
                time.sleep(0.2)

    def reports_request(self):
        with self.Session() as session, session.begin():
            self.set_tenant(session, random.randint(1, TENANTS))
            session.execute(text("SELECT status, count(*) FROM tickets GROUP BY status")).all()

    def leak_one(self):
        session = self.Session()  # never closed: the connection stays checked out
        self.set_tenant(session, random.randint(1, TENANTS))
        session.execute(text("SELECT count(*) FROM tickets WHERE status = 'open'")).one()
        self.leaked.append(session)
        self.count("leaked")

    def request_loop(self, index):
        role = self.args.role
        while not self.stop.is_set():
            if index >= int(self.setting("threads", 2 if role != "web" else 3)):
                time.sleep(0.2)
                continue
            if role == "web":
                self.run_safely(self.web_request)
            elif role == "worker":
                stall = self.setting("stall", None)
                if index == 0 and stall and stall.get("token") != self.stalled_token:
                    self.stalled_token = stall.get("token")
                    self.run_safely(lambda: self.stalled_job(stall))
                else:
                    self.run_safely(self.worker_job)
            else:
                self.run_safely(self.reports_request)
            self.stop.wait(float(self.setting("think", 0.2)) * random.uniform(0.5, 1.5))

    def leak_loop(self):
        while not self.stop.is_set():
            rate = float(self.setting("leak_per_second", 0))
            if rate > 0:
                self.run_safely(self.leak_one)
                self.stop.wait(1.0 / rate)
            else:
                self.stop.wait(0.2)

    def control_loop(self):
        next_stats = 0.0
        if self.args.role == "reports":
            threading.Thread(target=self.leak_loop, daemon=True).start()
        while not self.stop.is_set():
            self.read_control()
            wanted = int(self.setting("threads", 3 if self.args.role == "web" else 2))
            while len(self.threads) < wanted:
                thread = threading.Thread(target=self.request_loop, args=(len(self.threads),),
                                          daemon=True)
                thread.start()
                self.threads.append(thread)
            now = time.time()
            if self.setting("release_leaked", False) and self.leaked:
                while self.leaked:
                    self.leaked.pop().close()
            if now >= next_stats:
                next_stats = now + 1.0
                self.write_stats()
            time.sleep(0.05)
        self.write_stats()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=["web", "worker", "reports"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--name", required=True, help="this replica's name (logs)")
    parser.add_argument("--app-name", required=True, help="application_name of its connections")
    parser.add_argument("--control", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--pool-size", type=int, default=5)
    parser.add_argument("--max-overflow", type=int, default=10)
    parser.add_argument("--pool-timeout", type=float, default=30)
    args = parser.parse_args()
    replica = Replica(args)

    def stop(*_):
        replica.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    replica.control_loop()
    # Exit without waiting for threads stuck on a hung server.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
