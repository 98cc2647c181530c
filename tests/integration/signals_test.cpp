// The runbook situations on a real PostgreSQL: a leaking application, a long query, a forgotten
// transaction, a lock queue, and pool budgets from a config file.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

std::vector<std::string> fast(std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--dsn", TestDatabase::dsn(), "--target-name",
                                "main",  "--interval",        "1s"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

nlohmann::json activity(const PgpulseProcess& pgpulse) {
  auto result = http_get(pgpulse.port(), "/activity");
  REQUIRE(result.status == 200);
  return nlohmann::json::parse(result.body);
}

void cancel_backends(const std::string& application_name) {
  Session admin(TestDatabase::dsn());
  admin.exec("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
             application_name + "'");
}

}  // namespace

TEST_CASE("a leaking application is flagged and a steady pool is not", "[signals][idle][matrix]") {
  PgpulseProcess pgpulse(
      fast({"--idle-trend.window", "20s", "--idle-trend.min-growth-per-minute", "6"}));
  std::vector<Session> steady, leaky;
  for (int i = 0; i < 5; ++i) steady.emplace_back(TestDatabase::dsn("application_name=it-steady"));
  bool flagged = false;
  for (int second = 0; second < 40 && !flagged; ++second) {
    leaky.emplace_back(TestDatabase::dsn("application_name=it-leaky"));  // 60 per minute
    std::this_thread::sleep_for(1s);
    flagged = pgpulse.scrape().value("pgpulse_idle_leak_suspected",
                                     {{"application_name", "it-leaky"}}) == 1;
  }
  CHECK(flagged);
  auto scrape = pgpulse.scrape();
  CHECK(scrape.value("pgpulse_idle_leak_suspected", {{"application_name", "it-steady"}}) == 0);
  CHECK(scrape.value("pgpulse_idle_growth_per_minute", {{"application_name", "it-leaky"}})
            .value_or(0) > 30);
  CHECK(scrape.value("pgpulse_idle_connections",
                     {{"application_name", "it-steady"}, {"usename", "postgres"}}) == 5);
  CHECK(scrape.value("pgpulse_idle_max_age_seconds", {{"application_name", "it-steady"}})
            .value_or(0) >= 10);
  CHECK(scrape.value("pgpulse_connection_exhaustion_eta_seconds").has_value());
  // The leak stops and connections close: the flag clears once the count comes back down.
  leaky.clear();
  CHECK(eventually(
      [&] {
        return pgpulse.scrape()
                   .value("pgpulse_idle_leak_suspected", {{"application_name", "it-leaky"}})
                   .value_or(0) == 0;
      },
      10s));
}

TEST_CASE("pg_sleep shows in the longest-query gauge the threshold counts and /activity",
          "[signals][long_queries][matrix]") {
  PgpulseProcess pgpulse(fast({"--long-queries.thresholds", "1s,2s,1h"}));
  Session sleeper(TestDatabase::dsn("application_name=it-sleeper"));
  sleeper.send("SELECT pg_sleep(60) /* customer 'alice@example.com' */");
  bool seen = eventually(
      [&] {
        return pgpulse.scrape()
                   .value("pgpulse_longest_query_seconds",
                          {{"datname", "postgres"}, {"application_name", "it-sleeper"}})
                   .value_or(0) >= 3;
      },
      15s);
  auto scrape = pgpulse.scrape();
  auto offenders = activity(pgpulse)["targets"][0]["long_queries"]["offenders"];
  cancel_backends("it-sleeper");
  REQUIRE(seen);
  CHECK(scrape.value("pgpulse_long_queries",
                     {{"datname", "postgres"}, {"threshold_seconds", "1"}}) >= 1);
  CHECK(scrape.value("pgpulse_long_queries",
                     {{"datname", "postgres"}, {"threshold_seconds", "2"}}) >= 1);
  CHECK(scrape.value("pgpulse_long_queries",
                     {{"datname", "postgres"}, {"threshold_seconds", "3600"}}) == 0);
  CHECK(scrape
            .value("pgpulse_longest_transaction_seconds",
                   {{"datname", "postgres"}, {"application_name", "it-sleeper"}})
            .value_or(0) >= 3);
  bool listed = false;
  for (const auto& o : offenders) {
    if (o["application_name"] == "it-sleeper") {
      listed = true;
      CHECK(o["query"] == "SELECT pg_sleep(?) /* ? */");
      CHECK(o["state"] == "active");
      CHECK(o["query_seconds"].get<double>() >= 3);
      CHECK(o["wait_event"] == "PgSleep");
    }
  }
  CHECK(listed);
  CHECK(scrape.text().find("pg_sleep") == std::string::npos);  // query text never in labels
}

TEST_CASE("a transaction left open shows its idle-in-transaction age", "[signals][idle][matrix]") {
  PgpulseProcess pgpulse(fast());
  Session forgotten(TestDatabase::dsn("application_name=it-forgotten"));
  forgotten.exec("BEGIN");
  forgotten.exec("SELECT 1");
  CHECK(eventually(
      [&] {
        return pgpulse.scrape()
                   .value("pgpulse_idle_in_transaction_max_age_seconds",
                          {{"datname", "postgres"}, {"application_name", "it-forgotten"}})
                   .value_or(0) >= 3;
      },
      15s));
  CHECK(pgpulse.scrape().value("pgpulse_idle_in_transaction_connections",
                               {{"application_name", "it-forgotten"}}) == 1);
  forgotten.exec("ROLLBACK");
}

TEST_CASE("a LOCK TABLE with two waiters gives blocked 2 and one root blocker with its tree",
          "[signals][locks][matrix]") {
  Session admin(TestDatabase::dsn());
  admin.exec("DROP TABLE IF EXISTS it_locked; CREATE TABLE it_locked (id int)");
  PgpulseProcess pgpulse(fast());
  Session holder(TestDatabase::dsn("application_name=it-holder"));
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE it_locked IN ACCESS EXCLUSIVE MODE");
  Session waiter1(TestDatabase::dsn("application_name=it-waiter"));
  Session waiter2(TestDatabase::dsn("application_name=it-waiter"));
  waiter1.send("SELECT count(*) FROM it_locked");
  waiter2.send("SELECT count(*) FROM it_locked");
  bool blocked = eventually(
      [&] {
        return pgpulse.scrape().value("pgpulse_blocked_backends", {{"datname", "postgres"}}) == 2;
      },
      10s);
  bool aged = eventually(
      [&] { return pgpulse.scrape().value("pgpulse_lock_wait_max_seconds").value_or(0) >= 1; },
      10s);
  auto scrape = pgpulse.scrape();
  auto locks = activity(pgpulse)["targets"][0]["locks"];
  auto tree = locks["blocking_tree"];
  int holder_pid = holder.backend_pid();
  std::set<int> waiting{waiter1.backend_pid(), waiter2.backend_pid()};
  holder.exec("ROLLBACK");
  REQUIRE(blocked);
  // pg_locks.waitstart is there from PostgreSQL 14; on 13 a wait is timed from state_change.
  bool has_waitstart = std::stoi(admin.scalar("SHOW server_version_num")) >= 140000;
  CHECK(locks["wait_measured_from"] == (has_waitstart ? "waitstart" : "state_change"));
  CHECK(scrape.value("pgpulse_blocking_root_backends") == 1);
  CHECK(scrape.value("pgpulse_lock_chain_max_depth") == 1);
  CHECK(aged);
  REQUIRE(tree.size() == 1);
  CHECK(tree[0]["pid"] == holder_pid);
  CHECK(tree[0]["application_name"] == "it-holder");
  std::set<int> listed;
  for (const auto& w : tree[0]["waiting"]) listed.insert(w["pid"].get<int>());
  CHECK(listed == waiting);
  CHECK(eventually(
      [&] { return pgpulse.scrape().value("pgpulse_blocked_backends").value_or(0) == 0; }, 10s));
  admin.exec("DROP TABLE it_locked");
}

TEST_CASE("pool budgets from a config file produce the documented ratios",
          "[signals][pools][matrix]") {
  auto path = write_temp_file("pools.yml",
                              "interval: 1s\n"
                              "targets:\n  - name: main\n    dsn: " +
                                  TestDatabase::dsn() +
                                  "\n"
                                  "pools:\n"
                                  "  - application_name: it-pool-web\n    replicas: 2\n"
                                  "    pool_size: 2\n    max_overflow: 1\n"
                                  "  - application_name: it-pool-worker\n    replicas: 4\n"
                                  "    pool_size: 10\n    max_overflow: 5\n");
  PgpulseProcess pgpulse({"--config", path});
  std::vector<Session> web;
  for (int i = 0; i < 3; ++i) web.emplace_back(TestDatabase::dsn("application_name=it-pool-web"));
  CHECK(eventually(
      [&] {
        return pgpulse.scrape().value("pgpulse_pool_utilization_ratio",
                                      {{"application_name", "it-pool-web"}}) == 0.5;
      },
      10s));
  auto scrape = pgpulse.scrape();
  CHECK(scrape.value("pgpulse_pool_budget_connections", {{"application_name", "it-pool-web"}}) ==
        6);
  CHECK(scrape.value("pgpulse_pool_budget_connections", {{"application_name", "it-pool-worker"}}) ==
        60);
  CHECK(scrape.value("pgpulse_pool_connections", {{"application_name", "it-pool-worker"}}) == 0);
  CHECK(scrape.value("pgpulse_pool_overcommit_ratio") == Approx(66.0 / 97.0));
}
