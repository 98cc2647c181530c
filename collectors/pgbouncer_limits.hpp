#pragma once
// How many server connections each PgBouncer pool may open, from SHOW DATABASES, SHOW USERS and
// SHOW CONFIG, the way PgBouncer decides it (src/server.c: pool_pool_size, pool_res_pool_size,
// database_max_connections, user_max_connections): the user's pool_size (1.23+) or else the
// database's (SHOW DATABASES prints default_pool_size where none is set), plus reserve_pool,
// never past the database's max_db_connections or the user's max_user_connections (0: none).
// Pure functions over ShowTables, so each version's column set is a unit test.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/pgbouncer_show.hpp"

namespace pgpulse::collectors {

struct PgBouncerDatabaseLimits {
  long pool_size = 0;  // effective: default_pool_size where the entry sets none
  long reserve_pool = 0;
  long max_db_connections = 0;  // 0: unlimited
  long current_connections = 0;
  std::string pool_mode;  // "" when the entry inherits the global one
};

struct PgBouncerUserLimits {
  std::optional<long> pool_size;     // 1.23+, where the [users] entry sets one
  std::optional<long> reserve_pool;  // 1.24+, likewise
  long max_user_connections = 0;     // 0: unlimited
};

struct PgBouncerLimits {
  long default_pool_size = 20;
  long reserve_pool_size = 0;
  long max_db_connections = 0;
  long max_user_connections = 0;
  std::string pool_mode = "session";
  std::map<std::string, PgBouncerDatabaseLimits> databases;
  std::map<std::string, PgBouncerUserLimits> users;

  long pool_size(const std::string& database, const std::string& user) const;
  long reserve(const std::string& database, const std::string& user) const;
  long database_cap(const std::string& database) const;  // 0: none
  long user_cap(const std::string& user) const;          // 0: none
  // The size the pool serves clients with: pool_size, or a lower max_db_connections /
  // max_user_connections.
  long effective_size(const std::string& database, const std::string& user) const;
  std::string pool_mode_of(const std::string& database, const std::string& pool_mode) const;
};

// SHOW DATABASES' reserve_pool is reserve_pool_size from 1.24; its max_connections is the
// database's max_db_connections (the global one where the entry sets none).
PgBouncerLimits parse_pgbouncer_limits(const std::map<std::string, std::string>& config,
                                       const ShowTable& databases, const ShowTable& users);

struct PoolKey {
  std::string database;
  std::string user;
  bool operator<(const PoolKey& o) const {
    return database != o.database ? database < o.database : user < o.user;
  }
};

// The most server connections PgBouncer may open for these pools: per pool its pool_size plus
// reserve, summed per database and capped by max_db_connections, and likewise per user by
// max_user_connections; the lower of the two sums. The admin console's pool opens none.
long pgbouncer_server_budget(const std::vector<PoolKey>& pools, const PgBouncerLimits& limits);

// budget / usable server slots; +Inf when no slot is usable, 0 for an empty budget.
double budget_ratio(long budget, long usable_connections);

}  // namespace pgpulse::collectors
