#pragma once
// The one validated configuration every other layer reads. Built by config_loader from flags,
// environment and an optional YAML file (flags > environment > file > defaults).
#include <map>
#include <string>
#include <vector>

#include "config/duration.hpp"

namespace pgpulse::config {

// What a target is: which collectors serve it and how its connection is opened. A pgbouncer
// target is PgBouncer's admin console (dbname=pgbouncer): SHOW commands only, no session settings.
enum class TargetKind { Postgres, PgBouncer };
const char* target_kind_name(TargetKind kind);

struct TargetConfig {
  std::string name;  // the `target` label
  std::string dsn;   // libpq conninfo or URI; may hold a password: log redact_dsn(dsn) only
  std::string password_file;  // optional; its first line is the password
  TargetKind kind = TargetKind::Postgres;
  // pgbouncer targets only, optional: the name of the postgres target this PgBouncer fronts, for
  // the budget against its slots and the sessions it holds there (validated by the loader).
  std::string server{};
  bool operator==(const TargetConfig&) const = default;
};

struct CollectorConfig {
  bool enabled = true;
  Millis interval{0};
  bool operator==(const CollectorConfig&) const = default;
};

struct PgConfig {
  Millis connect_timeout{5000};
  Millis statement_timeout{5000};  // server side; the client deadline adds a margin on top
  Millis max_backoff{60000};       // reconnect backoff cap (also capped by the collector interval)
  bool operator==(const PgConfig&) const = default;
};

// Idle-leak detection over a sliding window of pg_stat_activity samples (docs/signals.md).
struct IdleTrendConfig {
  Millis window{15 * 60 * 1000};
  double min_growth_per_minute = 0.5;  // slope of idle connections that counts as growth
  double min_r2 = 0.8;                 // how straight the climb must be
  bool operator==(const IdleTrendConfig&) const = default;
};

struct ActivityConfig {
  std::vector<Millis> long_query_thresholds{Millis{30000}, Millis{300000}};
  long top_n = 20;              // offenders listed on /activity
  long query_max_length = 200;  // characters of normalised query text on /activity
  bool operator==(const ActivityConfig&) const = default;
};

// An application's expected connection pool, e.g. SQLAlchemy's pool_size and max_overflow
// times the number of replicas (web workers, Celery workers).
struct PoolConfig {
  std::string name;              // the application_name label; defaults to the match below
  std::string application_name;  // match on application_name ...
  std::string usename;           // ... and/or on the role
  std::string target;            // only this target; empty: every target
  long replicas = 1;
  long pool_size = 5;
  long max_overflow = 10;
  long budget() const { return replicas * (pool_size + max_overflow); }
  bool operator==(const PoolConfig&) const = default;
};

// Tables where sequential scans read most rows: missing-index candidates.
struct SeqScanConfig {
  long min_table_bytes = 10L * 1024 * 1024;  // smaller tables are never candidates
  double min_ratio = 0.5;                    // seq_tup_read / (seq_tup_read + idx_tup_fetch)
  long top_n = 20;                           // candidates with a series of their own
  bool operator==(const SeqScanConfig&) const = default;
};

// Row-level security posture and missing-index candidates, scanned per database.
struct RlsConfig {
  std::vector<std::string> tenant_columns{"tenant_id"};  // a table with one is a tenant table
  std::vector<std::string> tenant_tables;                // regexes over "schema.table", full match
  std::vector<std::string> include_databases;  // empty: every connectable non-template database
  std::vector<std::string> exclude_databases;
  long max_table_series = 500;  // cap of pgpulse_rls_table_protected series per target
  // Where tenant tables are judged: "in_use" (databases that use RLS somewhere: a policy, or a
  // table with RLS enabled, or a table rls.tenant_tables names) or "all". Elsewhere a table with
  // a tenant column is information ("RLS not in use in database x"), not a finding.
  std::string scope = "in_use";
  // Roles expected to bypass RLS: the ones PostgreSQL and the managed services create. Others
  // with superuser or BYPASSRLS are findings.
  std::vector<std::string> exempt_roles{"postgres",        "rdsadmin",       "rds_superuser",
                                        "rdsrepladmin",    "cloudsqladmin",  "cloudsqlsuperuser",
                                        "azure_superuser", "azure_pg_admin", "alloydbadmin"};
  // How long a removed or altered policy stays a finding (the drift alert's window).
  Millis drift_window{15 * 60 * 1000};
  SeqScanConfig seq_scan;
  bool operator==(const RlsConfig&) const = default;
};

// Per-table vacuum state, read on the per-database visits (the `vacuum` collector).
struct VacuumConfig {
  long top_n = 20;              // tables per database by dead tuples, and by time since vacuum
  long max_table_series = 500;  // cap of tables with series of their own per target
  bool operator==(const VacuumConfig&) const = default;
};

// pg_stat_statements, read by the statements collector: which statements get series of their own
// and when a statement counts as slow, chatty (a batch candidate) or returning large results.
struct StatementsConfig {
  long top_n = 20;         // statements with series of their own; the rest sum into "other"
  Millis slow_mean{1000};  // mean time per call over the interval that makes a statement slow
  double chatty_calls_per_second = 100;  // calls per second over the interval ...
  Millis chatty_max_mean{10};            // ... with a mean below this: a batch candidate
  double large_result_rows = 10000;      // rows per call over the interval
  long text_max_length = 500;            // bytes of normalised statement text on /statements
  bool operator==(const StatementsConfig&) const = default;
};

// Links from the trace ids that sqlcommenter comments carry to the tracing UI.
struct TracingConfig {
  std::string url_template;  // e.g. http://jaeger:16686/trace/{trace_id}; empty: no links
  bool operator==(const TracingConfig&) const = default;
};

struct Config {
  std::vector<TargetConfig> targets;
  std::string listen_address = "0.0.0.0:9188";
  std::string web_config_file;  // TLS and basic auth, exporter-toolkit style; empty: plain HTTP
  std::string log_level = "info";
  std::string log_format = "text";
  std::string output = "text";  // `pgpulse check` report: text or json
  // `pgpulse check --daemon URL`: read a running pgpulse's /diagnose instead of connecting (the
  // server may be full: the daemon already holds its slot and knows who holds the others).
  std::string daemon_url;
  Millis interval{15000};
  PgConfig pg;
  long label_max_values = 50;                         // distinct values per label before "other"
  std::map<std::string, CollectorConfig> collectors;  // every known collector, resolved
  IdleTrendConfig idle_trend;
  ActivityConfig activity;
  std::vector<PoolConfig> pools;
  RlsConfig rls;
  VacuumConfig vacuum;
  StatementsConfig statements;
  TracingConfig tracing;
  std::string config_file;  // empty when no file was given

  bool operator==(const Config&) const = default;
};

}  // namespace pgpulse::config
