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
  // A SQLAlchemy pool is per process: the replicas, told apart by their client address, each
  // against pool_size + max_overflow. Replicas sharing an address count as one.
  long per_replica_budget = 0;
  long replicas_seen = 0;      // distinct client addresses among the pool's connections
  long replicas_at_limit = 0;  // those holding per_replica_budget or more
  double replica_max_utilization = 0;
  std::string fullest_replica;  // its client address ("local" for a Unix socket)
  long fullest_replica_connections = 0;
};

struct PoolsDetails {
  std::vector<PoolUsage> pools;
  double overcommit = 0;  // sum of budgets / usable slots; +Inf (JSON null) when none is usable
  long usable_connections = 0;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PoolUsage, name, budget, connections, utilization,
                                   per_replica_budget, replicas_seen, replicas_at_limit,
                                   replica_max_utilization, fullest_replica,
                                   fullest_replica_connections)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PoolsDetails, pools, overcommit, usable_connections)

}  // namespace pgpulse::core
