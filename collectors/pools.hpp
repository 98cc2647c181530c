#pragma once
// Pool budgets (runbook step 5): what each application may open (replicas x (pool_size +
// max_overflow)), how much of it is open now, and whether all budgets together fit the server.
#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/server_settings.hpp"
#include "config/config.hpp"

namespace pgpulse::collectors {

struct PoolUsage {
  std::string name;
  long budget = 0;
  long connections = 0;
  double utilization = 0;  // connections / budget; +Inf for a zero budget in use
};

struct PoolSummary {
  std::vector<PoolUsage> pools;
  double overcommit = 0;  // sum of budgets / (max_connections - reserved)
};

PoolSummary summarize_pools(const ActivitySample& sample,
                            const std::vector<config::PoolConfig>& pools,
                            const ServerLimits& limits);
Families pool_families(const PoolSummary& summary);

class PoolsCollector : public Collector {
 public:
  explicit PoolsCollector(std::vector<config::PoolConfig> pools) : pools_(std::move(pools)) {}
  CollectorOutput collect(PollContext& context) override;

 private:
  std::vector<config::PoolConfig> pools_;
};

}  // namespace pgpulse::collectors
