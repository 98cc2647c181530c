#include "collectors/pgbouncer_pools.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <tuple>

#include "core/label_folding.hpp"

namespace pgpulse::collectors {

using core::LabelFold;

std::vector<PgBouncerPoolRow> parse_pgbouncer_pools(const ShowTable& t) {
  std::vector<PgBouncerPoolRow> rows;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    PgBouncerPoolRow row;
    row.database = t.text(r, {"database"});
    row.user = t.text(r, {"user"});
    row.pool_mode = t.text(r, {"pool_mode"});
    row.cl_active = t.integer(r, {"cl_active"});
    row.cl_waiting = t.integer(r, {"cl_waiting"});
    row.cl_active_cancel_req = t.integer(r, {"cl_active_cancel_req"});
    // Before 1.18 one column counted the clients whose cancel request waits to be forwarded.
    row.cl_waiting_cancel_req = t.integer(r, {"cl_waiting_cancel_req", "cl_cancel_req"});
    // A server connection that forwards a cancel, or is being canceled, is still taken.
    row.sv_active = t.integer(r, {"sv_active"}) + t.integer(r, {"sv_active_cancel"}) +
                    t.integer(r, {"sv_being_canceled"});
    row.sv_idle = t.integer(r, {"sv_idle"});
    row.sv_used = t.integer(r, {"sv_used"});
    row.sv_tested = t.integer(r, {"sv_tested"});
    row.sv_login = t.integer(r, {"sv_login"});
    row.max_wait_seconds = static_cast<double>(t.integer(r, {"maxwait"})) +
                           static_cast<double>(t.integer(r, {"maxwait_us"})) / 1e6;
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {

double saturation_of(long in_use, long size) {
  if (size > 0) return static_cast<double>(in_use) / static_cast<double>(size);
  return in_use > 0 ? std::numeric_limits<double>::infinity() : 0.0;
}

}  // namespace

PgBouncerPoolsSummary summarize_pgbouncer_pools(const std::vector<PgBouncerPoolRow>& rows,
                                                const PgBouncerLimits& limits,
                                                const std::string& server_name,
                                                const core::ConnectionsDetails* server,
                                                std::size_t label_limit) {
  PgBouncerPoolsSummary summary;
  auto& details = summary.details;
  details.default_pool_size = limits.default_pool_size;

  // Bounded labels: the databases and users with the most connections keep their names.
  std::map<std::string, std::size_t> by_database, by_user;
  std::vector<PoolKey> keys;
  for (const auto& row : rows) {
    if (row.database == kPgBouncerAdminDatabase) continue;
    auto weight = static_cast<std::size_t>(1 + row.cl_active + row.cl_waiting + row.sv_active +
                                           row.sv_idle + row.sv_used);
    by_database[row.database] += weight;
    by_user[row.user] += weight;
    keys.push_back({row.database, row.user});
  }
  for (const auto& [name, db] : limits.databases) {
    if (name != kPgBouncerAdminDatabase) {
      by_database[name] += static_cast<std::size_t>(db.current_connections);
    }
  }
  LabelFold database(by_database, label_limit), user(by_user, label_limit);
  summary.folded_values = {{"database", database.folded_values()}, {"user", user.folded_values()}};

  std::map<std::tuple<std::string, std::string, std::string>, core::PgBouncerPool> merged;
  for (const auto& row : rows) {
    if (row.database == kPgBouncerAdminDatabase) continue;
    std::string mode = limits.pool_mode_of(row.database, row.pool_mode);
    auto& pool = merged[{database.apply(row.database), user.apply(row.user), mode}];
    pool.database = database.apply(row.database);
    pool.user = user.apply(row.user);
    pool.pool_mode = mode;
    pool.clients_active += row.cl_active + row.cl_active_cancel_req;
    pool.clients_waiting += row.cl_waiting + row.cl_waiting_cancel_req;
    pool.servers_active += row.sv_active;
    pool.servers_idle += row.sv_idle;
    pool.servers_used += row.sv_used;
    pool.servers_tested += row.sv_tested;
    pool.servers_login += row.sv_login;
    pool.size += limits.effective_size(row.database, row.user);
    pool.reserve += limits.reserve(row.database, row.user);
    pool.max_wait_seconds = std::max(pool.max_wait_seconds, row.max_wait_seconds);
    details.clients_waiting += row.cl_waiting;
    details.max_wait_seconds = std::max(details.max_wait_seconds, row.max_wait_seconds);
  }
  for (auto& [key, pool] : merged) {
    pool.saturation = saturation_of(pool.servers_active, pool.size);
    summary.pools.push_back(pool);
  }
  for (const auto& [name, db] : limits.databases) {
    if (name == kPgBouncerAdminDatabase) continue;
    auto& folded = summary.databases[database.apply(name)];
    folded.pool_size += db.pool_size;
    folded.reserve_pool += db.reserve_pool;
    folded.max_db_connections += db.max_db_connections;
    folded.current_connections += db.current_connections;
  }

  details.pools = summary.pools;
  std::stable_sort(details.pools.begin(), details.pools.end(), [](const auto& a, const auto& b) {
    if (a.clients_waiting != b.clients_waiting) return a.clients_waiting > b.clients_waiting;
    return a.saturation > b.saturation;
  });
  details.server = server_name;
  details.server_budget = pgbouncer_server_budget(keys, limits);
  if (server) {
    details.server_known = true;
    details.server_usable_connections = server->usable_connections;
    details.server_budget_ratio = budget_ratio(details.server_budget, server->usable_connections);
  }
  return summary;
}

Families pgbouncer_pool_families(const PgBouncerPoolsSummary& s) {
  Families families;
  auto& clients = add_gauge(families, "pgpulse_pgbouncer_clients",
                            "PgBouncer client connections per pool by state (SHOW POOLS cl_*): "
                            "waiting clients sent a query and have no server connection yet.");
  auto& servers = add_gauge(families, "pgpulse_pgbouncer_servers",
                            "PgBouncer server connections per pool by state (SHOW POOLS sv_*).");
  auto& max_wait = add_gauge(families, "pgpulse_pgbouncer_max_wait_seconds",
                             "How long the oldest waiting client of the pool has waited.");
  auto& mode = add_gauge(families, "pgpulse_pgbouncer_pool_mode",
                         "Always 1; pool_mode says how the pool shares server connections.");
  auto& size = add_gauge(families, "pgpulse_pgbouncer_pool_size",
                         "The pool's effective size: pool_size, or max_db_connections / "
                         "max_user_connections where lower.");
  auto& saturation =
      add_gauge(families, "pgpulse_pgbouncer_pool_saturation_ratio",
                "Server connections in use / the pool's effective size. At 1 the "
                "next client waits (after reserve_pool_timeout, the reserve helps).");
  for (const auto& p : s.pools) {
    LabelPairs pool{{"database", p.database}, {"user", p.user}};
    auto with = [&](const char* state) {
      auto labels = pool;
      labels.emplace_back("state", state);
      return labels;
    };
    add_sample(clients, with("active"), static_cast<double>(p.clients_active));
    add_sample(clients, with("waiting"), static_cast<double>(p.clients_waiting));
    add_sample(servers, with("active"), static_cast<double>(p.servers_active));
    add_sample(servers, with("idle"), static_cast<double>(p.servers_idle));
    add_sample(servers, with("used"), static_cast<double>(p.servers_used));
    add_sample(servers, with("tested"), static_cast<double>(p.servers_tested));
    add_sample(servers, with("login"), static_cast<double>(p.servers_login));
    add_sample(max_wait, pool, p.max_wait_seconds);
    auto mode_labels = pool;
    mode_labels.emplace_back("pool_mode", p.pool_mode);
    add_sample(mode, mode_labels, 1);
    add_sample(size, pool, static_cast<double>(p.size));
    add_sample(saturation, pool, p.saturation);
  }
  auto& db_size = add_gauge(families, "pgpulse_pgbouncer_database_pool_size",
                            "pool_size of the PgBouncer database (default_pool_size where unset).");
  auto& db_reserve = add_gauge(families, "pgpulse_pgbouncer_database_reserve_pool",
                               "reserve_pool of the PgBouncer database: extra server connections "
                               "a pool may open after reserve_pool_timeout.");
  auto& db_max = add_gauge(families, "pgpulse_pgbouncer_database_max_db_connections",
                           "max_db_connections of the PgBouncer database (0: unlimited).");
  auto& db_current = add_gauge(families, "pgpulse_pgbouncer_database_server_connections",
                               "Server connections PgBouncer holds for the database.");
  for (const auto& [name, db] : s.databases) {
    LabelPairs labels{{"database", name}};
    add_sample(db_size, labels, static_cast<double>(db.pool_size));
    add_sample(db_reserve, labels, static_cast<double>(db.reserve_pool));
    add_sample(db_max, labels, static_cast<double>(db.max_db_connections));
    add_sample(db_current, labels, static_cast<double>(db.current_connections));
  }
  LabelPairs server;
  if (!s.details.server.empty()) server.emplace_back("server", s.details.server);
  add_sample(add_gauge(families, "pgpulse_pgbouncer_server_budget_connections",
                       "The most server connections PgBouncer may open for its pools: pool size "
                       "plus reserve each, capped by max_db_connections and max_user_connections."),
             server, static_cast<double>(s.details.server_budget));
  if (s.details.server_known) {
    add_sample(add_gauge(families, "pgpulse_pgbouncer_server_budget_ratio",
                         "pgpulse_pgbouncer_server_budget_connections / (max_connections - "
                         "reserved) of the linked server. Above 1 PgBouncer can exhaust the "
                         "server under load."),
               server, s.details.server_budget_ratio);
  }
  core::add_folded_values(families, "pgbouncer_pools", s.folded_values);
  return families;
}

CollectorOutput PgBouncerPoolsCollector::collect(PollContext& context) {
  // The console takes one simple query at a time: four round trips, each answered from memory.
  auto config = show_config_values(show_table(context.query("SHOW CONFIG")));
  auto databases = show_table(context.query("SHOW DATABASES"));
  auto users = show_table(context.query("SHOW USERS"));
  auto pools = parse_pgbouncer_pools(show_table(context.query("SHOW POOLS")));
  auto limits = parse_pgbouncer_limits(config, databases, users);
  const core::ConnectionsDetails* server = nullptr;
  if (!server_.empty()) {
    if (const auto* view = context.linked_target(server_)) {
      server = view->find<core::ConnectionsDetails>();
    }
  }
  auto summary = summarize_pgbouncer_pools(pools, limits, server_, server, context.label_limit());
  return CollectorOutput{pgbouncer_pool_families(summary), core::make_details(summary.details)};
}

}  // namespace pgpulse::collectors
