#include "daemon/collector_registry.hpp"

#include <algorithm>

#include "collectors/connections.hpp"
#include "collectors/idle_trend.hpp"
#include "collectors/locks.hpp"
#include "collectors/long_queries.hpp"
#include "collectors/pools.hpp"
#include "collectors/rls.hpp"
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

}  // namespace

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
  };
  return registry;
}

std::vector<config::CollectorInfo> collector_infos() {
  std::vector<config::CollectorInfo> infos;
  for (const auto& entry : collector_registry()) infos.push_back(entry.info);
  return infos;
}

}  // namespace pgpulse::daemon
