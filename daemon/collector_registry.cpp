#include "daemon/collector_registry.hpp"

#include <chrono>

#include "collectors/connections.hpp"
#include "collectors/idle_trend.hpp"
#include "collectors/locks.hpp"
#include "collectors/long_queries.hpp"
#include "collectors/pools.hpp"
#include "collectors/rls.hpp"

namespace pgpulse::daemon {

namespace {

double seconds(config::Millis value) {
  return std::chrono::duration<double>(value).count();
}

}  // namespace

const std::vector<CollectorEntry>& collector_registry() {
  using collectors::Collector;
  static const std::vector<CollectorEntry> registry{
      {{"connections", true, config::Millis{0},
        "connection counts by database/role/application/state, saturation and limits"},
       [](const config::Config&, const config::TargetConfig&) -> std::unique_ptr<Collector> {
         return std::make_unique<collectors::ConnectionsCollector>();
       }},
      {{"idle_trend", true, config::Millis{0},
        "idle and idle-in-transaction connections, their ages, leak trends, exhaustion forecast"},
       [](const config::Config& c, const config::TargetConfig&) -> std::unique_ptr<Collector> {
         return std::make_unique<collectors::IdleTrendCollector>(
             collectors::LeakRule{seconds(c.idle_trend.window), c.idle_trend.min_growth_per_minute,
                                  c.idle_trend.min_r2});
       }},
      {{"long_queries", true, config::Millis{0},
        "longest queries and transactions, counts over thresholds, /activity offenders"},
       [](const config::Config& c, const config::TargetConfig&) -> std::unique_ptr<Collector> {
         collectors::LongQueryOptions options;
         options.thresholds_seconds.clear();
         for (auto t : c.activity.long_query_thresholds)
           options.thresholds_seconds.push_back(seconds(t));
         options.top_n = static_cast<std::size_t>(c.activity.top_n);
         options.query_max_length = static_cast<std::size_t>(c.activity.query_max_length);
         return std::make_unique<collectors::LongQueriesCollector>(options);
       }},
      {{"locks", true, config::Millis{0},
        "backends blocked on locks, longest wait, root blockers, chain depth, blocking tree"},
       [](const config::Config& c, const config::TargetConfig&) -> std::unique_ptr<Collector> {
         return std::make_unique<collectors::LocksCollector>(
             static_cast<std::size_t>(c.activity.query_max_length));
       }},
      {{"pools", true, config::Millis{0},
        "per-application pool budgets from the pools config, utilization, overcommit"},
       [](const config::Config& c, const config::TargetConfig& t) -> std::unique_ptr<Collector> {
         std::vector<config::PoolConfig> pools;
         for (const auto& pool : c.pools) {
           if (pool.target.empty() || pool.target == t.name) pools.push_back(pool);
         }
         return std::make_unique<collectors::PoolsCollector>(pools);
       }},
      {{"rls", true, config::Millis{5 * 60 * 1000},
        "per-database catalog scan: RLS posture and policy drift, bypass roles, seq-scan-heavy "
        "tables"},
       [](const config::Config& c, const config::TargetConfig&) -> std::unique_ptr<Collector> {
         collectors::RlsOptions options;
         options.tenant_columns = c.rls.tenant_columns;
         options.tenant_tables = c.rls.tenant_tables;
         options.include_databases = c.rls.include_databases;
         options.exclude_databases = c.rls.exclude_databases;
         options.max_table_series = static_cast<std::size_t>(c.rls.max_table_series);
         options.seq_scan = {c.rls.seq_scan_min_table_bytes, c.rls.seq_scan_min_ratio};
         options.seq_scan_top_n = static_cast<std::size_t>(c.rls.seq_scan_top_n);
         return std::make_unique<collectors::RlsCollector>(options);
       }},
  };
  return registry;
}

std::vector<config::CollectorInfo> collector_infos() {
  std::vector<config::CollectorInfo> infos;
  for (const auto& entry : collector_registry()) infos.push_back(entry.info);
  return infos;
}

}  // namespace pgpulse::daemon
