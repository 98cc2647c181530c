#include "daemon/collector_registry.hpp"

#include <algorithm>

#include "collectors/archiver.hpp"
#include "collectors/autovacuum.hpp"
#include "collectors/checkpoints.hpp"
#include "collectors/connections.hpp"
#include "collectors/database_size.hpp"
#include "collectors/database_stats.hpp"
#include "collectors/horizon.hpp"
#include "collectors/idle_trend.hpp"
#include "collectors/locks.hpp"
#include "collectors/long_queries.hpp"
#include "collectors/pgbouncer_backends.hpp"
#include "collectors/pgbouncer_clients.hpp"
#include "collectors/pgbouncer_pools.hpp"
#include "collectors/pgbouncer_servers.hpp"
#include "collectors/pgbouncer_stats.hpp"
#include "collectors/pools.hpp"
#include "collectors/replication.hpp"
#include "collectors/rls.hpp"
#include "collectors/rls_watch.hpp"
#include "collectors/settings.hpp"
#include "collectors/standby.hpp"
#include "collectors/vacuum.hpp"
#include "collectors/wal.hpp"
#include "collectors/statements.hpp"

namespace pgpulse::daemon {

namespace {

using collectors::Collector;
using config::Config;
using config::TargetConfig;
using Make = std::function<AnyCollector(const Config&, const TargetConfig&)>;

template <class T>
AnyCollector any(std::unique_ptr<T> collector) {
  if constexpr (std::is_base_of_v<collectors::DatabaseCollector, T>) {
    return std::unique_ptr<collectors::DatabaseCollector>(std::move(collector));
  } else {
    return std::unique_ptr<Collector>(std::move(collector));
  }
}

// A collector built from one config section (or none).
template <class T, class Section>
Make from_section(Section Config::*section) {
  return [section](const Config& config, const TargetConfig&) {
    return any(std::make_unique<T>(config.*section));
  };
}

template <class T>
Make without_config() {
  return [](const Config&, const TargetConfig&) { return any(std::make_unique<T>()); };
}

const std::vector<config::TargetKind> kPostgres{config::TargetKind::Postgres};
const std::vector<config::TargetKind> kPgBouncer{config::TargetKind::PgBouncer};

}  // namespace

std::vector<std::string> linked_target_names(const config::TargetConfig& target,
                                             const config::Config& config) {
  std::vector<std::string> names;
  if (target.kind == config::TargetKind::PgBouncer) {
    if (!target.server.empty()) names.push_back(target.server);
    return names;
  }
  for (const auto& other : config.targets) {
    if (other.kind == config::TargetKind::PgBouncer && other.server == target.name) {
      names.push_back(other.name);
    }
  }
  return names;
}

bool CollectorEntry::serves(config::TargetKind kind) const {
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

const std::vector<CollectorEntry>& collector_registry() {
  using config::Millis;
  static const std::vector<CollectorEntry> registry{
      {{"connections", true, Millis{0},
        "connection counts by database/role/application/state, saturation and limits"},
       kPostgres,
       without_config<collectors::ConnectionsCollector>()},
      {{"idle_trend", true, Millis{0},
        "idle and idle-in-transaction connections, their ages, leak trends, exhaustion forecast"},
       kPostgres,
       from_section<collectors::IdleTrendCollector>(&Config::idle_trend)},
      {{"long_queries", true, Millis{0},
        "longest queries and transactions, counts over thresholds, /activity offenders"},
       kPostgres,
       [](const Config& c, const TargetConfig&) {
         return any(std::make_unique<collectors::LongQueriesCollector>(c.activity, c.tracing));
       }},
      {{"locks", true, Millis{0},
        "backends blocked on locks, longest wait, root blockers, chain depth, blocking tree"},
       kPostgres,
       [](const Config& c, const TargetConfig&) {
         return any(std::make_unique<collectors::LocksCollector>(c.activity, c.tracing));
       }},
      {{"pools", true, Millis{0},
        "per-application pool budgets from the pools config, utilization, overcommit"},
       kPostgres,
       [](const Config& c, const TargetConfig& t) {
         return any(std::make_unique<collectors::PoolsCollector>(c.pools, t.name));
       }},
      {{"statements", true, Millis{30 * 1000},
        "pg_stat_statements: top statements by time in the last interval, slow, chatty and "
        "large-result statements, statements table fill"},
       kPostgres,
       from_section<collectors::StatementsCollector>(&Config::statements)},
      {{"rls", true, Millis{5 * 60 * 1000},
        "per-database visit: RLS posture and policy drift, bypass roles, seq-scan-heavy tables"},
       kPostgres,
       from_section<collectors::RlsCollector>(&Config::rls)},
      {{"rls_watch", true, Millis{0},
        "RLS catalog fingerprint of the target's own database every poll; a change starts an "
        "rls scan at once"},
       kPostgres,
       [](const Config& c, const TargetConfig&) {
         return any(std::make_unique<collectors::RlsWatchCollector>(
             c.collectors.count("rls") && c.collectors.at("rls").enabled));
       }},
      {{"database", true, Millis{0},
        "per-database commits, rollbacks, deadlocks, temp spill, blocks, conflicts, sessions; "
        "xid and multixact wraparound"},
       kPostgres,
       without_config<collectors::DatabaseStatsCollector>()},
      // pg_database_size() stats every file of every database: its own longer interval.
      {{"database_size", true, Millis{5 * 60 * 1000}, "pg_database_size() of every database"},
       kPostgres,
       without_config<collectors::DatabaseSizeCollector>()},
      {{"horizon", true, Millis{0},
        "who holds the xmin horizon back: backends, idle transactions, slots, prepared "
        "transactions, standby feedback"},
       kPostgres,
       without_config<collectors::HorizonCollector>()},
      {{"checkpoints", true, Millis{0},
        "checkpoints timed and requested, their write and sync time, buffers written by whom"},
       kPostgres,
       without_config<collectors::CheckpointsCollector>()},
      {{"wal", true, Millis{0}, "WAL bytes, records and full-page images (PostgreSQL 14+)"},
       kPostgres,
       without_config<collectors::WalCollector>()},
      {{"archiver", true, Millis{0},
        "WAL archived and failed, age of the last success (where archive_mode is on)"},
       kPostgres,
       without_config<collectors::ArchiverCollector>()},
      {{"replication", true, Millis{0},
        "on a primary: standby lag, replicas by state, slots (active, retained WAL, wal_status)"},
       kPostgres,
       without_config<collectors::ReplicationCollector>()},
      {{"standby", true, Millis{0},
        "on a standby: in recovery, replay lag (0 when caught up), receive lag, WAL receiver"},
       kPostgres,
       without_config<collectors::StandbyCollector>()},
      // pg_settings is built in full on every read; settings change rarely.
      {{"settings", true, Millis{60 * 1000},
        "postmaster start time, settings pending a restart, curated settings in base units"},
       kPostgres,
       without_config<collectors::SettingsCollector>()},
      {{"autovacuum", true, Millis{0}, "autovacuum workers running against autovacuum_max_workers"},
       kPostgres,
       without_config<collectors::AutovacuumCollector>()},
      {{"vacuum", true, Millis{5 * 60 * 1000},
        "per-database visit: tables with the most dead tuples and longest without a vacuum"},
       kPostgres,
       from_section<collectors::VacuumCollector>(&Config::vacuum)},
      {{"pgbouncer_backends", true, Millis{0},
        "the client backends that linked PgBouncer targets hold, by pool, apart from direct ones"},
       kPostgres,
       [](const Config& c, const TargetConfig& t) {
         return any(
             std::make_unique<collectors::PgBouncerBackendsCollector>(linked_target_names(t, c)));
       }},
      {{"pgbouncer_pools", true, Millis{0},
        "PgBouncer pools: clients waiting, servers, max wait, saturation, limits, server budget"},
       kPgBouncer,
       [](const Config&, const TargetConfig& t) {
         return any(std::make_unique<collectors::PgBouncerPoolsCollector>(t.server));
       }},
      {{"pgbouncer_stats", true, Millis{0},
        "PgBouncer per-database queries, transactions, query and wait time (SHOW STATS)"},
       kPgBouncer,
       without_config<collectors::PgBouncerStatsCollector>()},
      {{"pgbouncer_clients", true, Millis{0},
        "PgBouncer client connections against max_client_conn (SHOW LISTS, SHOW CONFIG)"},
       kPgBouncer,
       without_config<collectors::PgBouncerClientsCollector>()},
      {{"pgbouncer_servers", true, Millis{0},
        "PgBouncer server connections (SHOW SERVERS), for the server's pgbouncer_backends"},
       kPgBouncer,
       without_config<collectors::PgBouncerServersCollector>()},
  };
  return registry;
}

std::vector<config::CollectorInfo> collector_infos() {
  std::vector<config::CollectorInfo> infos;
  for (const auto& entry : collector_registry()) infos.push_back(entry.info);
  return infos;
}

}  // namespace pgpulse::daemon
