#include "daemon/collector_registry.hpp"

#include <algorithm>

#include "collectors/connections.hpp"
#include "collectors/idle_trend.hpp"
#include "collectors/locks.hpp"
#include "collectors/long_queries.hpp"
#include "collectors/pgbouncer_backends.hpp"
#include "collectors/pgbouncer_clients.hpp"
#include "collectors/pgbouncer_pools.hpp"
#include "collectors/pgbouncer_servers.hpp"
#include "collectors/pgbouncer_stats.hpp"
#include "collectors/pools.hpp"
#include "collectors/rls.hpp"

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
       from_section<collectors::LongQueriesCollector>(&Config::activity)},
      {{"locks", true, Millis{0},
        "backends blocked on locks, longest wait, root blockers, chain depth, blocking tree"},
       kPostgres,
       from_section<collectors::LocksCollector>(&Config::activity)},
      {{"pools", true, Millis{0},
        "per-application pool budgets from the pools config, utilization, overcommit"},
       kPostgres,
       [](const Config& c, const TargetConfig& t) {
         return any(std::make_unique<collectors::PoolsCollector>(c.pools, t.name));
       }},
      {{"rls", true, Millis{5 * 60 * 1000},
        "per-database visit: RLS posture and policy drift, bypass roles, seq-scan-heavy tables"},
       kPostgres,
       from_section<collectors::RlsCollector>(&Config::rls)},
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
