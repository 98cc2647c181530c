// The pgbouncer collectors' maths on made-up SHOW results, with the column sets of PgBouncer
// 1.17 (cl_cancel_req, reserve_pool), 1.18 (Debian 12: the cancel columns split) and 1.24
// (reserve_pool_size, per-user limits in SHOW USERS, load_balance_hosts), as src/admin.c of each
// release writes them.
#include <catch2/catch.hpp>

#include <cmath>

#include "collectors/pgbouncer_backends.hpp"
#include "collectors/pgbouncer_clients.hpp"
#include "collectors/pgbouncer_pools.hpp"
#include "collectors/pgbouncer_servers.hpp"
#include "collectors/pgbouncer_stats.hpp"
#include "core/exposition.hpp"

using namespace pgpulse::collectors;
using pgpulse::core::ConnectionsDetails;
using Row = std::vector<std::optional<std::string>>;

namespace {

const std::vector<std::string> kPools117{
    "database", "user",      "cl_active", "cl_waiting", "cl_cancel_req", "sv_active", "sv_idle",
    "sv_used",  "sv_tested", "sv_login",  "maxwait",    "maxwait_us",    "pool_mode"};
const std::vector<std::string> kPools118{"database",
                                         "user",
                                         "cl_active",
                                         "cl_waiting",
                                         "cl_active_cancel_req",
                                         "cl_waiting_cancel_req",
                                         "sv_active",
                                         "sv_active_cancel",
                                         "sv_being_canceled",
                                         "sv_idle",
                                         "sv_used",
                                         "sv_tested",
                                         "sv_login",
                                         "maxwait",
                                         "maxwait_us",
                                         "pool_mode"};
const std::vector<std::string> kDatabases118{"name",
                                             "host",
                                             "port",
                                             "database",
                                             "force_user",
                                             "pool_size",
                                             "min_pool_size",
                                             "reserve_pool",
                                             "pool_mode",
                                             "max_connections",
                                             "current_connections",
                                             "paused",
                                             "disabled"};
const std::vector<std::string> kDatabases124{"name",
                                             "host",
                                             "port",
                                             "database",
                                             "force_user",
                                             "pool_size",
                                             "min_pool_size",
                                             "reserve_pool_size",
                                             "server_lifetime",
                                             "pool_mode",
                                             "load_balance_hosts",
                                             "max_connections",
                                             "current_connections",
                                             "max_client_connections",
                                             "current_client_connections",
                                             "paused",
                                             "disabled"};
const std::vector<std::string> kUsers124{"name",
                                         "pool_size",
                                         "reserve_pool_size",
                                         "pool_mode",
                                         "max_user_connections",
                                         "current_connections",
                                         "max_user_client_connections",
                                         "current_client_connections"};

ShowTable table(std::vector<std::string> columns, std::vector<Row> rows) {
  return ShowTable{std::move(columns), std::move(rows)};
}

// database, user, cl_active, cl_waiting, sv_active, sv_idle, maxwait, maxwait_us, pool_mode
Row pool118(const char* db, const char* user, int cl_active, int cl_waiting, int sv_active,
            int sv_idle, int maxwait, int maxwait_us, const char* mode) {
  auto n = [](int v) { return std::optional<std::string>(std::to_string(v)); };
  return {db,   user,       n(cl_active),  n(cl_waiting),
          n(0), n(0),       n(sv_active),  n(0),
          n(0), n(sv_idle), n(0),          n(0),
          n(0), n(maxwait), n(maxwait_us), std::optional<std::string>(mode)};
}

Row database118(const char* name, int pool_size, int reserve, int max_db, int current) {
  auto n = [](int v) { return std::optional<std::string>(std::to_string(v)); };
  return {name,       "127.0.0.1",  "5432",    "postgres", std::nullopt, n(pool_size), n(0),
          n(reserve), std::nullopt, n(max_db), n(current), "0",          "0"};
}

std::map<std::string, std::string> config(long default_pool_size = 20, long max_user = 0) {
  return {{"default_pool_size", std::to_string(default_pool_size)},
          {"reserve_pool_size", "0"},
          {"max_db_connections", "0"},
          {"max_user_connections", std::to_string(max_user)},
          {"pool_mode", "session"},
          {"max_client_conn", "100"}};
}

ConnectionsDetails server_with(long usable) {
  ConnectionsDetails d;
  d.max_connections = usable + 3;
  d.reserved_connections = 3;
  d.usable_connections = usable;
  return d;
}

const pgpulse::core::PgBouncerPool* pool_named(const PgBouncerPoolsSummary& s,
                                               const std::string& database) {
  for (const auto& p : s.pools) {
    if (p.database == database) return &p;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("SHOW columns are read by name, old and new names alike, absent ones as missing") {
  auto t = table({"a", "b"}, {{"1", std::nullopt}, {"x", " 7 "}});
  CHECK(t.integer(0, {"a"}) == 1);
  CHECK(t.integer(0, {"b"}, -1) == -1);  // NULL
  CHECK(t.integer(1, {"a"}, -1) == -1);  // not a number
  CHECK(t.integer(1, {"b"}) == 7);       // padded, as SHOW USERS pads pool_size
  CHECK(t.integer(0, {"missing", "a"}) == 1);
  CHECK_FALSE(t.maybe_integer(0, {"missing"}));
  CHECK(t.text(5, {"a"}).empty());
}

TEST_CASE("SHOW POOLS of 1.17 and 1.18 give the same rows") {
  auto old_rows = parse_pgbouncer_pools(table(
      kPools117, {{"app", "u", "3", "2", "1", "2", "0", "0", "0", "0", "4", "500000", "session"}}));
  REQUIRE(old_rows.size() == 1);
  CHECK(old_rows[0].cl_waiting_cancel_req == 1);  // cl_cancel_req
  CHECK(old_rows[0].sv_active == 2);
  CHECK(old_rows[0].max_wait_seconds == Approx(4.5));
  auto rows = parse_pgbouncer_pools(
      table(kPools118, {pool118("app", "u", 3, 2, 2, 0, 4, 500000, "session")}));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].cl_active == 3);
  CHECK(rows[0].cl_waiting == 2);
  CHECK(rows[0].sv_active == 2);
  CHECK(rows[0].max_wait_seconds == Approx(4.5));
  CHECK(rows[0].pool_mode == "session");
}

TEST_CASE("a pool's effective size is pool_size, or a lower max_db or max_user connections") {
  auto dbs =
      table(kDatabases118, {database118("small", 10, 0, 4, 0), database118("big", 10, 5, 0, 0)});
  auto limits = parse_pgbouncer_limits(config(20, 8), dbs, ShowTable{});
  CHECK(limits.effective_size("small", "u") == 4);  // max_db_connections 4
  CHECK(limits.effective_size("big", "u") == 8);    // max_user_connections 8
  CHECK(limits.reserve("big", "u") == 5);
  CHECK(limits.effective_size("unknown", "u") == 8);  // default_pool_size 20, user cap 8
  auto uncapped = parse_pgbouncer_limits(config(20, 0), dbs, ShowTable{});
  CHECK(uncapped.effective_size("big", "u") == 10);
  CHECK(uncapped.effective_size("unknown", "u") == 20);
}

TEST_CASE("1.24 reads reserve_pool_size and the users' own pool_size and max_user_connections") {
  auto dbs = table(kDatabases124, {{"app", "h", "5432", "app", std::nullopt, "30", "0", "7", "0",
                                    "transaction", std::nullopt, "0", "3", "0", "9", "0", "0"}});
  auto users =
      table(kUsers124, {{"capped", "        5", "        1", std::nullopt, "12", "0", "0", "0"},
                        {"plain", "", "", std::nullopt, "0", "0", "0", "0"}});
  auto limits = parse_pgbouncer_limits(config(), dbs, users);
  CHECK(limits.databases.at("app").reserve_pool == 7);
  CHECK(limits.databases.at("app").pool_mode == "transaction");
  CHECK(limits.pool_size("app", "capped") == 5);  // the user's pool_size wins
  CHECK(limits.reserve("app", "capped") == 1);
  CHECK(limits.pool_size("app", "plain") == 30);
  CHECK(limits.reserve("app", "plain") == 7);
  CHECK(limits.user_cap("capped") == 12);
  CHECK(limits.user_cap("plain") == 0);
}

TEST_CASE("the server budget sums size plus reserve, capped per database and per user") {
  auto dbs = table(kDatabases118, {database118("a", 10, 2, 0, 0), database118("b", 50, 0, 20, 0),
                                   database118("pgbouncer", 2, 0, 0, 0)});
  auto limits = parse_pgbouncer_limits(config(), dbs, ShowTable{});
  // a: 2 users x (10 + 2) = 24; b: 2 users x 50 = 100, capped at 20; the console opens none.
  std::vector<PoolKey> pools{
      {"a", "u1"}, {"a", "u2"}, {"b", "u1"}, {"b", "u2"}, {"pgbouncer", "pgbouncer"}};
  CHECK(pgbouncer_server_budget(pools, limits) == 44);
  // max_user_connections 15: each user at most 15 -> 30 in all, below the per-database 44
  auto user_capped = parse_pgbouncer_limits(config(20, 15), dbs, ShowTable{});
  CHECK(pgbouncer_server_budget(pools, user_capped) == 30);
  CHECK(budget_ratio(44, 97) == Approx(44.0 / 97));
  CHECK(std::isinf(budget_ratio(1, 0)));
  CHECK(budget_ratio(0, 0) == 0);
}

TEST_CASE("pools: saturation, waiting clients, the oldest wait and the budget ratio") {
  auto dbs = table(kDatabases118,
                   {database118("session", 2, 0, 0, 2), database118("budget", 150, 10, 0, 0),
                    database118("pgbouncer", 2, 0, 0, 0)});
  auto limits = parse_pgbouncer_limits(config(), dbs, ShowTable{});
  auto rows = parse_pgbouncer_pools(
      table(kPools118, {pool118("session", "app", 2, 1, 2, 0, 3, 250000, "session"),
                        pool118("budget", "app", 0, 0, 0, 1, 0, 0, ""),
                        pool118("pgbouncer", "pgbouncer", 1, 0, 0, 0, 0, 0, "statement")}));
  auto server = server_with(97);
  auto s = summarize_pgbouncer_pools(rows, limits, "db", &server, 50);
  REQUIRE(s.pools.size() == 2);  // the admin console is no pool of the server
  const auto* full = pool_named(s, "session");
  REQUIRE(full);
  CHECK(full->size == 2);
  CHECK(full->saturation == Approx(1.0));
  CHECK(full->clients_waiting == 1);
  CHECK(full->max_wait_seconds == Approx(3.25));
  CHECK(pool_named(s, "budget")->pool_mode == "session");  // inherited from SHOW CONFIG
  CHECK(s.details.clients_waiting == 1);
  CHECK(s.details.max_wait_seconds == Approx(3.25));
  CHECK(s.details.pools.front().database == "session");  // waiting first
  CHECK(s.details.server_budget == 2 + 160);
  CHECK(s.details.server_known);
  CHECK(s.details.server_budget_ratio == Approx(162.0 / 97));
  // without the server's data there is a budget but no ratio
  auto alone = summarize_pgbouncer_pools(rows, limits, "db", nullptr, 50);
  CHECK_FALSE(alone.details.server_known);
  auto text = pgpulse::core::render_families("b", pgbouncer_pool_families(alone));
  bool has_ratio = false;
  for (const auto& f : text) has_ratio |= f.name == "pgpulse_pgbouncer_server_budget_ratio";
  CHECK_FALSE(has_ratio);
}

TEST_CASE("pool families carry the contract's names and bounded labels") {
  auto dbs = table(kDatabases118, {});
  auto limits = parse_pgbouncer_limits(config(5), dbs, ShowTable{});
  std::vector<Row> many;
  for (int i = 0; i < 6; ++i) {
    auto db = "db" + std::to_string(i);
    many.push_back(pool118(db.c_str(), "app", i, 0, 1, 0, 0, 0, "transaction"));
  }
  auto server = server_with(100);
  auto s = summarize_pgbouncer_pools(parse_pgbouncer_pools(table(kPools118, many)), limits, "db",
                                     &server, 3);
  CHECK(s.folded_values.at("database") == 3);
  CHECK(pool_named(s, "other"));
  CHECK(pool_named(s, "other")->size == 15);  // three pools of 5 folded
  auto rendered = pgpulse::core::render_families("b", pgbouncer_pool_families(s));
  std::string all;
  for (const auto& f : rendered) all += f.header + f.samples;
  for (const char* name :
       {"pgpulse_pgbouncer_clients{target=\"b\",database=\"db5\",user=\"app\",state=\"waiting\"}",
        "pgpulse_pgbouncer_clients{target=\"b\",database=\"db5\",user=\"app\",state=\"active\"} 5",
        "pgpulse_pgbouncer_servers{target=\"b\",database=\"db5\",user=\"app\",state=\"idle\"}",
        "pgpulse_pgbouncer_servers{target=\"b\",database=\"db5\",user=\"app\",state=\"login\"}",
        "pgpulse_pgbouncer_max_wait_seconds{",
        "pgpulse_pgbouncer_pool_mode{target=\"b\",database=\"db5\",user=\"app\",pool_mode="
        "\"transaction\"} 1",
        "pgpulse_pgbouncer_pool_saturation_ratio{", "pgpulse_pgbouncer_pool_size{",
        "pgpulse_pgbouncer_server_budget_ratio{target=\"b\",server=\"db\"} 0.3",
        "pgpulse_pgbouncer_server_budget_connections{target=\"b\",server=\"db\"} 30",
        "pgpulse_label_values_folded{target=\"b\",collector=\"pgbouncer_pools\",label=\"database\"}"
        " 3"}) {
    INFO(name);
    CHECK(all.find(name) != std::string::npos);
  }
}

TEST_CASE("per-database limits come from SHOW DATABASES") {
  auto dbs = table(kDatabases118,
                   {database118("app", 10, 3, 40, 7), database118("pgbouncer", 2, 0, 0, 0)});
  auto limits = parse_pgbouncer_limits(config(), dbs, ShowTable{});
  auto s = summarize_pgbouncer_pools({}, limits, "", nullptr, 50);
  REQUIRE(s.databases.size() == 1);
  CHECK(s.databases.at("app").pool_size == 10);
  CHECK(s.databases.at("app").reserve_pool == 3);
  CHECK(s.databases.at("app").max_db_connections == 40);
  std::string all;
  for (const auto& f : pgpulse::core::render_families("b", pgbouncer_pool_families(s))) {
    all += f.samples;
  }
  CHECK(all.find("pgpulse_pgbouncer_database_pool_size{target=\"b\",database=\"app\"} 10") !=
        std::string::npos);
  CHECK(all.find("pgpulse_pgbouncer_database_reserve_pool{target=\"b\",database=\"app\"} 3") !=
        std::string::npos);
  CHECK(all.find("pgpulse_pgbouncer_database_max_db_connections{target=\"b\",database=\"app\"} "
                 "40") != std::string::npos);
  CHECK(all.find("budget_ratio") == std::string::npos);  // no server linked
}

TEST_CASE("SHOW STATS totals become counters in seconds, the console left out") {
  std::vector<std::string> columns{"database",         "total_xact_count", "total_query_count",
                                   "total_received",   "total_sent",       "total_xact_time",
                                   "total_query_time", "total_wait_time"};
  auto rows = parse_pgbouncer_stats(
      table(columns, {{"app", "10", "25", "0", "0", "3000000", "1500000", "250000"},
                      {"pgbouncer", "3", "3", "0", "0", "0", "0", "0"}}));
  auto s = summarize_pgbouncer_stats(rows, 50);
  REQUIRE(s.databases.size() == 1);
  CHECK(s.databases[0].queries == 25);
  CHECK(s.databases[0].transactions == 10);
  CHECK(s.databases[0].query_seconds == Approx(1.5));
  CHECK(s.databases[0].wait_seconds == Approx(0.25));
  std::string all;
  for (const auto& f : pgpulse::core::render_families("b", pgbouncer_stats_families(s))) {
    all += f.header + f.samples;
  }
  CHECK(all.find("# TYPE pgpulse_pgbouncer_queries_total counter") != std::string::npos);
  CHECK(all.find("pgpulse_pgbouncer_transactions_total{target=\"b\",database=\"app\"} 10") !=
        std::string::npos);
  CHECK(all.find("pgpulse_pgbouncer_query_seconds_total{target=\"b\",database=\"app\"} 1.5") !=
        std::string::npos);
  CHECK(all.find("pgpulse_pgbouncer_wait_seconds_total{target=\"b\",database=\"app\"} 0.25") !=
        std::string::npos);
}

TEST_CASE("client connections are SHOW LISTS used_clients against max_client_conn") {
  auto lists = parse_pgbouncer_lists(table(
      {"list", "items"}, {{"free_clients", "10"}, {"used_clients", "90"}, {"login_clients", "2"}}));
  auto clients = summarize_pgbouncer_clients(lists, config());
  CHECK(clients.client_connections == 90);
  CHECK(clients.max_client_conn == 100);
  CHECK(clients.ratio == Approx(0.9));
}
