"""The incidents: how each is made with the application replicas or SQL, the pgpulse signal
that must show it, the alerts that must fire, and what check must exit."""
import json
import threading
import time

from harness import (EXTRA_WEB, IDLE_TREND_WINDOW, Scenario, duration_seconds, http_get, log,
                     step_of)


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
    tolerated = {"PostgresRestarted": "it did restart"}
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
    short = False  # the same alerts as the outage, and 20 s more of CI's time
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
