#include "collectors/pools.hpp"

#include <cmath>
#include <limits>

namespace pgpulse::collectors {

core::PoolsDetails summarize_pools(const ActivitySample& sample,
                                   const std::vector<config::PoolConfig>& pools,
                                   const ServerLimits& limits) {
  core::PoolsDetails summary;
  summary.usable_connections = limits.usable();
  long total_budget = 0;
  for (const auto& pool : pools) {
    PoolUsage usage{pool.name, pool.budget(), 0, 0};
    for (const auto& row : sample.rows) {
      if (!row.is_client() || row.is_self) continue;
      bool app_matches =
          pool.application_name.empty() || row.application_name == pool.application_name;
      bool user_matches = pool.usename.empty() || row.usename == pool.usename;
      if (app_matches && user_matches) ++usage.connections;
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
  for (const auto& pool : s.pools) {
    LabelPairs labels{{"application_name", pool.name}};
    add_sample(budget, labels, static_cast<double>(pool.budget));
    add_sample(connections, labels, static_cast<double>(pool.connections));
    add_sample(utilization, labels, pool.utilization);
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
