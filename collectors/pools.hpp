#pragma once
// Pool budgets (runbook step 5): what each application may open (replicas x (pool_size +
// max_overflow)), how much of it is open now, and whether all budgets together fit the server.
#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/server_settings.hpp"
#include "config/config.hpp"
#include "core/details/pools.hpp"

namespace pgpulse::collectors {

using core::PoolUsage;

core::PoolsDetails summarize_pools(const ActivitySample& sample,
                                   const std::vector<config::PoolConfig>& pools,
                                   const ServerLimits& limits);
Families pool_families(const core::PoolsDetails& summary);

// Not applicable to a target no pool is declared for.
class PoolsCollector : public Collector {
 public:
  // Keeps the pools that apply to `target` (those without a target, and those naming it).
  PoolsCollector(const std::vector<config::PoolConfig>& pools, const std::string& target);
  Applicability applicability(PollContext& context) override;
  CollectorOutput collect(PollContext& context) override;

 private:
  std::vector<config::PoolConfig> pools_;
};

}  // namespace pgpulse::collectors
