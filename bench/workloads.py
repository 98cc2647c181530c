"""The benchmark's workloads: client connections in chosen states, many tables with a mix of RLS
postures, many databases. Everything is created by a superuser session through libpq."""
import time

from pgclient import Conn

APP_PREFIX = "bench-app-"
CLIENT_ROLES = [f"bench_client_{i}" for i in range(4)]
APPLICATIONS = 10

# Table i gets a posture from i % 20 (see docs/benchmarks.md):
#   0,1 protected (RLS + policy)     2 forced (RLS + FORCE + policy)   3 enabled, no policy
#   4 policy but RLS disabled        5,6,7 tenant_id, no RLS           8..19 no tenant column
# 40% tenant tables, 20% with a policy; every table has a primary key and a TOAST table; every
# 100th table holds 1,000 rows and has been read sequentially once (pg_stat_user_tables counts).
SCHEMAS = 10


def create_client_roles(su):
    for role in CLIENT_ROLES:
        su.query(f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN "
                 f"NULL; END $$")


class ClientPool:
    """Holds client sessions open in a given state: idle, idle in transaction, or active
    (pg_sleep). Sessions spread over CLIENT_ROLES and APPLICATIONS application names."""

    def __init__(self, host, port, dbname="postgres"):
        self.host, self.port, self.dbname = host, port, dbname
        self.conns = []
        self.counts = {"idle": 0, "idle in transaction": 0, "active": 0}

    def add(self, state, n):
        for _ in range(n):
            i = len(self.conns)
            role = CLIENT_ROLES[i % len(CLIENT_ROLES)]
            app = f"{APP_PREFIX}{i % APPLICATIONS:02d}"
            c = Conn(f"host={self.host} port={self.port} dbname={self.dbname} user={role} "
                     f"application_name={app} sslmode=disable")
            if state == "idle":
                c.query("SELECT 1")
            elif state == "idle in transaction":
                c.query("BEGIN; SELECT txid_current()")
            elif state == "active":
                c.send("SELECT pg_sleep(86400)")
            else:
                raise ValueError(state)
            self.conns.append(c)
            self.counts[state] += 1

    def add_mix(self, total, idle=0.60, idle_in_transaction=0.25):
        """Grows the pool to `total` sessions keeping the mix: 60% idle, 25% idle in
        transaction, 15% active."""
        target = {"idle": round(total * idle),
                  "idle in transaction": round(total * idle_in_transaction)}
        target["active"] = total - target["idle"] - target["idle in transaction"]
        for state, want in target.items():
            self.add(state, max(0, want - self.counts[state]))

    def __len__(self):
        return len(self.conns)

    def close(self, su):
        for c in self.conns:
            c.close()
        self.conns = []
        self.counts = {k: 0 for k in self.counts}
        # Sessions in pg_sleep notice the closed socket only at client_connection_check_interval.
        su.query(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 f"WHERE application_name LIKE '{APP_PREFIX}%'")
        for _ in range(200):
            if int(su.scalar(f"SELECT count(*) FROM pg_stat_activity "
                             f"WHERE application_name LIKE '{APP_PREFIX}%'")) == 0:
                return
            time.sleep(0.05)


def create_tables(conn, start, end, batch=500):
    """Creates tables bench_t<start>..bench_t<end-1> (see the posture mix above)."""
    conn.query("SET client_min_messages = error; " +
               "; ".join(f"CREATE SCHEMA IF NOT EXISTS s{k}" for k in range(SCHEMAS)))
    for lo in range(start, end, batch):
        hi = min(end, lo + batch) - 1
        conn.query(f"""
DO $$
DECLARE k int; t text; n bigint;
BEGIN
  FOR i IN {lo}..{hi} LOOP
    k := i % 20;
    t := format('s%s.bench_t%s', i % {SCHEMAS}, i);
    IF k < 8 THEN
      EXECUTE format('CREATE TABLE %s (id bigint PRIMARY KEY, tenant_id int NOT NULL,
                      created_at timestamptz, payload text)', t);
    ELSE
      EXECUTE format('CREATE TABLE %s (id bigint PRIMARY KEY, created_at timestamptz,
                      payload text)', t);
    END IF;
    IF k IN (0, 1, 2, 4) THEN
      EXECUTE format('CREATE POLICY tenant_isolation ON %s
                      USING (tenant_id = current_setting(''app.tenant'')::int)', t);
    END IF;
    IF k IN (0, 1, 2, 3) THEN EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t); END IF;
    IF k = 2 THEN EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t); END IF;
    IF i % 100 = 0 THEN  -- k = 0: a tenant table
      EXECUTE format('INSERT INTO %s (id, tenant_id, created_at, payload)
                      SELECT g, mod(g, 10), now(), md5(g::text) FROM generate_series(1, 1000) g', t);
      EXECUTE format('SELECT count(*) FROM %s', t) INTO n;
    END IF;
  END LOOP;
END $$""")
    return end - start


def create_database(su, name):
    su.query(f"CREATE DATABASE {name} TEMPLATE template0")


def drop_database(su, name):
    su.query(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def count_tables(conn):
    return int(conn.scalar("SELECT count(*) FROM pg_class c JOIN pg_namespace n "
                           "ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') "
                           "AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"))
