#include "collectors/pgbouncer_limits.hpp"

#include <algorithm>
#include <limits>

namespace pgpulse::collectors {

namespace {

long cap_of(long value) {
  return value > 0 ? value : 0;
}

}  // namespace

long PgBouncerLimits::pool_size(const std::string& database, const std::string& user) const {
  if (auto u = users.find(user); u != users.end() && u->second.pool_size) {
    return *u->second.pool_size;
  }
  if (auto d = databases.find(database); d != databases.end()) return d->second.pool_size;
  return default_pool_size;
}

long PgBouncerLimits::reserve(const std::string& database, const std::string& user) const {
  if (auto u = users.find(user); u != users.end() && u->second.reserve_pool) {
    return *u->second.reserve_pool;
  }
  if (auto d = databases.find(database); d != databases.end()) return d->second.reserve_pool;
  return reserve_pool_size;
}

long PgBouncerLimits::database_cap(const std::string& database) const {
  if (auto d = databases.find(database); d != databases.end()) {
    return cap_of(d->second.max_db_connections);
  }
  return cap_of(max_db_connections);
}

long PgBouncerLimits::user_cap(const std::string& user) const {
  if (auto u = users.find(user); u != users.end()) return cap_of(u->second.max_user_connections);
  return cap_of(max_user_connections);
}

long PgBouncerLimits::effective_size(const std::string& database, const std::string& user) const {
  long size = pool_size(database, user);
  if (long cap = database_cap(database); cap > 0) size = std::min(size, cap);
  if (long cap = user_cap(user); cap > 0) size = std::min(size, cap);
  return size;
}

std::string PgBouncerLimits::pool_mode_of(const std::string& database,
                                          const std::string& pool_mode) const {
  if (!pool_mode.empty()) return pool_mode;  // SHOW POOLS says it from 1.16 on
  if (auto d = databases.find(database); d != databases.end() && !d->second.pool_mode.empty()) {
    return d->second.pool_mode;
  }
  return this->pool_mode;
}

PgBouncerLimits parse_pgbouncer_limits(const std::map<std::string, std::string>& config,
                                       const ShowTable& databases, const ShowTable& users) {
  PgBouncerLimits limits;
  limits.default_pool_size = config_integer(config, "default_pool_size", 20);
  limits.reserve_pool_size = config_integer(config, "reserve_pool_size", 0);
  limits.max_db_connections = config_integer(config, "max_db_connections", 0);
  limits.max_user_connections = config_integer(config, "max_user_connections", 0);
  if (auto it = config.find("pool_mode"); it != config.end() && !it->second.empty()) {
    limits.pool_mode = it->second;
  }
  for (std::size_t r = 0; r < databases.rows.size(); ++r) {
    PgBouncerDatabaseLimits db;
    db.pool_size = databases.integer(r, {"pool_size"}, limits.default_pool_size);
    db.reserve_pool =
        databases.integer(r, {"reserve_pool_size", "reserve_pool"}, limits.reserve_pool_size);
    db.max_db_connections = databases.integer(r, {"max_connections"}, limits.max_db_connections);
    db.current_connections = databases.integer(r, {"current_connections"}, 0);
    db.pool_mode = databases.text(r, {"pool_mode"});
    limits.databases[databases.text(r, {"name"})] = db;
  }
  for (std::size_t r = 0; r < users.rows.size(); ++r) {
    PgBouncerUserLimits user;
    // Blank where the [users] entry sets none (1.23+); the column is missing before 1.23.
    if (auto size = users.maybe_integer(r, {"pool_size"})) user.pool_size = *size;
    if (auto reserve = users.maybe_integer(r, {"reserve_pool_size"})) user.reserve_pool = *reserve;
    user.max_user_connections =
        users.integer(r, {"max_user_connections"}, limits.max_user_connections);
    limits.users[users.text(r, {"name"})] = user;
  }
  return limits;
}

long pgbouncer_server_budget(const std::vector<PoolKey>& pools, const PgBouncerLimits& limits) {
  std::map<std::string, long> by_database, by_user;
  for (const auto& pool : pools) {
    if (pool.database == kPgBouncerAdminDatabase) continue;
    long most =
        limits.pool_size(pool.database, pool.user) + limits.reserve(pool.database, pool.user);
    by_database[pool.database] += most;
    by_user[pool.user] += most;
  }
  auto capped_sum = [](const std::map<std::string, long>& sums, auto cap_of_name) {
    long total = 0;
    for (const auto& [name, sum] : sums) {
      long cap = cap_of_name(name);
      total += cap > 0 ? std::min(sum, cap) : sum;
    }
    return total;
  };
  long per_database =
      capped_sum(by_database, [&](const std::string& name) { return limits.database_cap(name); });
  long per_user =
      capped_sum(by_user, [&](const std::string& name) { return limits.user_cap(name); });
  return std::min(per_database, per_user);
}

double budget_ratio(long budget, long usable_connections) {
  if (usable_connections <= 0) {
    return budget > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  }
  return static_cast<double>(budget) / static_cast<double>(usable_connections);
}

}  // namespace pgpulse::collectors
