#pragma once
// What the pools collector tells its readers: each configured pool's budget and use, and whether
// all budgets together fit the server.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgpulse::core {

struct PoolUsage {
  std::string name;
  long budget = 0;  // replicas x (pool_size + max_overflow)
  long connections = 0;
  double utilization = 0;  // connections / budget; +Inf (JSON null) for a zero budget in use
};

struct PoolsDetails {
  std::vector<PoolUsage> pools;
  double overcommit = 0;  // sum of budgets / usable slots; +Inf (JSON null) when none is usable
  long usable_connections = 0;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PoolUsage, name, budget, connections, utilization)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PoolsDetails, pools, overcommit, usable_connections)

}  // namespace pgpulse::core
