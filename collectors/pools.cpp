#include "collectors/pools.hpp"

#include <cmath>
#include <limits>
#include <map>

namespace pgpulse::collectors {

core::PoolsDetails summarize_pools(const ActivitySample& sample,
                                   const std::vector<config::PoolConfig>& pools,
                                   const ServerLimits& limits) {
  core::PoolsDetails summary;
  summary.usable_connections = limits.usable();
  long total_budget = 0;
  for (const auto& pool : pools) {
    PoolUsage usage;
    usage.name = pool.name;
    usage.budget = pool.budget();
    usage.per_replica_budget = pool.pool_size + pool.max_overflow;
    std::map<std::string, long> by_replica;  // client address -> connections
    for (const auto& row : sample.rows) {
      if (!row.is_client() || row.is_self) continue;
      bool app_matches =
          pool.application_name.empty() || row.application_name == pool.application_name;
      bool user_matches = pool.usename.empty() || row.usename == pool.usename;
      if (!app_matches || !user_matches) continue;
      ++usage.connections;
      ++by_replica[row.client_addr.empty() ? "local" : row.client_addr];
    }
    usage.replicas_seen = static_cast<long>(by_replica.size());
    for (const auto& [replica, held] : by_replica) {
      if (held > usage.fullest_replica_connections) {
        usage.fullest_replica = replica;
        usage.fullest_replica_connections = held;
      }
      if (usage.per_replica_budget > 0 && held >= usage.per_replica_budget) {
        ++usage.replicas_at_limit;
      }
    }
    if (usage.per_replica_budget > 0) {
      usage.replica_max_utilization =
          static_cast<double>(usage.fullest_replica_connections) / usage.per_replica_budget;
    }
    usage.utilization = usage.budget > 0 ? static_cast<double>(usage.connections) / usage.budget
                        : usage.connections > 0 ? std::numeric_limits<double>::infinity()
                                                : 0.0;
    total_budget += usage.budget;
    summary.pools.push_back(usage);
  }
  long usable = limits.usable();
  summary.overcommit = usable > 0 ? static_cast<double>(total_budget) / usable
                                  : std::numeric_limits<double>::infinity();
  return summary;
}

Families pool_families(const core::PoolsDetails& s) {
  Families families;
  if (s.pools.empty()) return families;
  auto& budget = add_gauge(families, "pgpulse_pool_budget_connections",
                           "Connections the application may open: replicas x (pool_size + "
                           "max_overflow), from the pools config.");
  auto& connections = add_gauge(families, "pgpulse_pool_connections",
                                "Client backends matching the pool now (any state).");
  auto& utilization = add_gauge(families, "pgpulse_pool_utilization_ratio",
                                "Pool connections now / pool budget; above 1 the application "
                                "opens more than it is configured to.");
  auto& replica_max = add_gauge(families, "pgpulse_pool_replica_max_utilization_ratio",
                                "The fullest replica's connections / (pool_size + max_overflow): "
                                "replicas told apart by client address; at 1 that replica's "
                                "requests wait for a connection.");
  auto& at_limit = add_gauge(families, "pgpulse_pool_replicas_at_limit",
                             "Replicas (distinct client addresses) holding pool_size + "
                             "max_overflow connections or more.");
  for (const auto& pool : s.pools) {
    LabelPairs labels{{"application_name", pool.name}};
    add_sample(budget, labels, static_cast<double>(pool.budget));
    add_sample(connections, labels, static_cast<double>(pool.connections));
    add_sample(utilization, labels, pool.utilization);
    add_sample(replica_max, labels, pool.replica_max_utilization);
    add_sample(at_limit, labels, static_cast<double>(pool.replicas_at_limit));
  }
  add_sample(add_gauge(families, "pgpulse_pool_overcommit_ratio",
                       "Sum of pool budgets / (max_connections - reserved); above 1 the pools "
                       "can exhaust the server even when every application behaves."),
             {}, s.overcommit);
  return families;
}

PoolsCollector::PoolsCollector(const std::vector<config::PoolConfig>& pools,
                               const std::string& target) {
  for (const auto& pool : pools) {
    if (pool.target.empty() || pool.target == target) pools_.push_back(pool);
  }
}

Applicability PoolsCollector::applicability(PollContext&) {
  if (pools_.empty()) return Applicability::no("no pools declared for this target (pools:)");
  return Applicability::yes();
}

CollectorOutput PoolsCollector::collect(PollContext& context) {
  auto summary = summarize_pools(context.activity(), pools_, context.settings().limits);
  auto families = pool_families(summary);
  return CollectorOutput{std::move(families), core::make_details(std::move(summary))};
}

}  // namespace pgpulse::collectors
