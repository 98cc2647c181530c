// A real PgBouncer (scripts/pgbouncer_test_server.sh, Debian's 1.18 in CI) in front of the test
// PostgreSQL, watched by pgpulse as a pgbouncer target linked to the postgres target: the console
// is opened without session settings, clients queue in session and transaction pools and
// cl_waiting / maxwait move within two polls, PgBouncer's server connections are told apart from
// direct clients on the server, the budget over the server's slots is flagged, and a PgBouncer
// killed and restarted is reported down and then recovered while the server's signals go on.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

constexpr auto kInterval = 1000ms;

struct PgBouncer {
  static std::string port() { return TestDatabase::env("PGPULSE_TEST_PGBOUNCER_PORT"); }
  static std::string admin_dsn() { return TestDatabase::env("PGPULSE_TEST_PGBOUNCER_ADMIN_DSN"); }
  // A client of one of the test PgBouncer's databases: session, transaction or budget.
  static std::string client_dsn(const std::string& database, const std::string& app) {
    return "host=127.0.0.1 port=" + port() + " user=postgres dbname=" + database +
           " application_name=" + app;
  }
  static void control(const std::string& action) {
    std::string output;
    int rc = run_command({TestDatabase::env("PGPULSE_TEST_PGBOUNCER_SCRIPT"), action,
                          TestDatabase::env("PGPULSE_TEST_PGBOUNCER_DIR")},
                         output);
    if (rc != 0) FAIL("pgbouncer_test_server.sh " << action << " failed: " << output);
  }
  static std::string console(const std::string& command) {
    std::string output;
    run_command(
        {"/usr/lib/postgresql/15/bin/psql", "-X", "-A", "-F", "|",
         "host=127.0.0.1 port=" + port() + " user=postgres dbname=pgbouncer", "-c", command},
        output);
    return output;
  }
  // Closes every server connection PgBouncer holds (KILL, then RESUME, each database) and waits
  // until their backends have left the server: the tests after these count the server's client
  // backends exactly, and an idle server connection timing out among them would move the counts.
  static void drop_server_connections() {
    std::istringstream servers(console("SHOW SERVERS"));
    std::string line, pids;
    int remote_pid = -1;
    while (std::getline(servers, line)) {
      std::vector<std::string> fields;
      std::istringstream split(line);
      for (std::string field; std::getline(split, field, '|');) fields.push_back(field);
      if (remote_pid < 0) {  // the header names the columns
        for (std::size_t i = 0; i < fields.size(); ++i) {
          if (fields[i] == "remote_pid") remote_pid = static_cast<int>(i);
        }
      } else if (static_cast<int>(fields.size()) > remote_pid &&
                 fields[remote_pid].find_first_not_of("0123456789") == std::string::npos) {
        pids += (pids.empty() ? "" : ",") + fields[remote_pid];
      }
    }
    for (const char* database : {"session", "transaction", "budget"}) {
      console(std::string("KILL ") + database);
      console(std::string("RESUME ") + database);
    }
    if (pids.empty()) return;
    Session server(TestDatabase::dsn());
    CHECK(eventually(
        [&] {
          return server.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid IN (" + pids +
                               ")") == "0";
        },
        5s));
  }
};

// Declared first in each test, so it runs last, after the test's own sessions have closed.
struct LeavesNoServerConnections {
  ~LeavesNoServerConnections() { PgBouncer::drop_server_connections(); }
};

std::string config_file(const std::string& name) {
  return write_temp_file(name + ".yml",
                         "targets:\n"
                         "  - name: db\n"
                         "    dsn: " +
                             TestDatabase::dsn() +
                             "\n"
                             "  - name: bouncer\n"
                             "    kind: pgbouncer\n"
                             "    server: db\n"
                             "    dsn: " +
                             PgBouncer::admin_dsn() + "\n");
}

PgpulseProcess watch_both(const std::string& name) {
  return PgpulseProcess({"--config", config_file(name), "--interval", "1s",
                         "--pg.statement-timeout", "2s", "--pg.connect-timeout", "2s",
                         "--no-collector.rls"});
}

double value_or(const Scrape& scrape, const std::string& name,
                const std::map<std::string, std::string>& labels, double fallback = -1) {
  return scrape.value(name, labels).value_or(fallback);
}

nlohmann::json target_report(int port, const std::string& target) {
  auto report = nlohmann::json::parse(http_get(port, "/diagnose").body);
  for (const auto& t : report["targets"]) {
    if (t["target"] == target) return t;
  }
  return {};
}

nlohmann::json step_of(const nlohmann::json& target, const std::string& id) {
  for (const auto& step : target["steps"]) {
    if (step["id"] == id) return step;
  }
  return {{"severity", "missing"}, {"finding", ""}};
}

// Two sessions holding the pool's two server connections, and a third that must wait: in session
// mode a session holds its server connection from its first query on; in transaction mode an
// open transaction does.
struct FullPool {
  std::vector<Session> holders;
  std::optional<Session> waiter;
  std::chrono::steady_clock::time_point waiting_since;

  FullPool(const std::string& database, bool in_transaction) {
    for (int i = 0; i < 2; ++i) {
      holders.emplace_back(PgBouncer::client_dsn(database, "it-pgb-holder"));
      holders.back().exec(in_transaction ? "BEGIN" : "SELECT 1");
      if (in_transaction) holders.back().exec("SELECT 1");
    }
    waiter.emplace(PgBouncer::client_dsn(database, "it-pgb-waiter"));
    waiting_since = std::chrono::steady_clock::now();
    waiter->send("SELECT 1");
  }
};

}  // namespace

TEST_CASE("a pgbouncer target is polled on its console without session settings", "[pgbouncer]") {
  LeavesNoServerConnections cleanup;
  auto pgpulse = watch_both("pgb-up");
  REQUIRE(eventually(
      [&] {
        return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_up", {{"target", "bouncer"}}) == 1;
      },
      10s));
  auto scrape = pgpulse.scrape();
  // Had the startup packet carried -c lock_timeout or had a SET been sent, the console would
  // have refused the connection ("unsupported startup parameter") or the first poll.
  for (const char* collector :
       {"pgbouncer_pools", "pgbouncer_stats", "pgbouncer_clients", "pgbouncer_servers"}) {
    INFO(collector);
    CHECK(eventually(
        [&] {
          return value_or(pgpulse.scrape(), "pgpulse_collector_success",
                          {{"target", "bouncer"}, {"collector", collector}}) == 1;
        },
        5s));
  }
  CHECK_FALSE(scrape.value("pgpulse_collector_success",
                           {{"target", "bouncer"}, {"collector", "connections"}}));
  CHECK_FALSE(scrape.value("pgpulse_collector_success",
                           {{"target", "db"}, {"collector", "pgbouncer_pools"}}));
  auto version = TestDatabase::env("PGPULSE_TEST_PGBOUNCER_VERSION");  // "1.18.0"
  int major = 0, minor = 0, patch = 0;
  REQUIRE(std::sscanf(version.c_str(), "%d.%d.%d", &major, &minor, &patch) == 3);
  CHECK(value_or(scrape, "pgpulse_pgbouncer_version_num", {{"target", "bouncer"}}) ==
        major * 10000 + minor * 100 + patch);
  CHECK_FALSE(scrape.value("pgpulse_server_version_num", {{"target", "bouncer"}}));
  CHECK(value_or(scrape, "pgpulse_pgbouncer_max_client_connections", {{"target", "bouncer"}}) ==
        50);
  CHECK(value_or(scrape, "pgpulse_pgbouncer_database_pool_size",
                 {{"target", "bouncer"}, {"database", "budget"}}) == 150);
  CHECK(value_or(scrape, "pgpulse_pgbouncer_database_reserve_pool",
                 {{"target", "bouncer"}, {"database", "budget"}}) == 10);
  // pgpulse's own console session is a client too
  CHECK(value_or(scrape, "pgpulse_pgbouncer_client_connections", {{"target", "bouncer"}}) >= 1);
  // and the server's signals are there for its direct clients
  Session direct(TestDatabase::dsn("application_name=it-pgb-direct"));
  CHECK(eventually(
      [&] {
        return value_or(pgpulse.scrape(), "pgpulse_connections",
                        {{"target", "db"}, {"application_name", "it-pgb-direct"}}, 0) == 1;
      },
      5s));
  CHECK(pgpulse.log().find("unsupported startup parameter") == std::string::npos);
}

TEST_CASE("clients queue in a full session pool and cl_waiting and maxwait move within two polls",
          "[pgbouncer]") {
  LeavesNoServerConnections cleanup;
  auto pgpulse = watch_both("pgb-session");
  REQUIRE(eventually(
      [&] {
        return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_up", {{"target", "bouncer"}}) == 1;
      },
      10s));
  FullPool pool("session", false);
  const std::map<std::string, std::string> labels{
      {"target", "bouncer"}, {"database", "session"}, {"user", "postgres"}};
  auto waiting = labels;
  waiting["state"] = "waiting";
  REQUIRE(eventually(
      [&] { return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_clients", waiting) == 1; },
      2 * kInterval + 500ms, 50ms));
  auto seen_after = std::chrono::steady_clock::now() - pool.waiting_since;
  INFO("waiting seen after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(seen_after).count() << " ms");
  CHECK(seen_after <= 2 * kInterval + 500ms);
  auto scrape = pgpulse.scrape();
  CHECK(value_or(scrape, "pgpulse_pgbouncer_pool_saturation_ratio", labels) == 1);
  auto active = labels;
  active["state"] = "active";
  CHECK(value_or(scrape, "pgpulse_pgbouncer_servers", active) == 2);
  CHECK(value_or(scrape, "pgpulse_pgbouncer_pool_mode",
                 {{"target", "bouncer"}, {"database", "session"}, {"pool_mode", "session"}}) == 1);
  // maxwait grows while the client waits: at least a second within two more polls
  double first = value_or(scrape, "pgpulse_pgbouncer_max_wait_seconds", labels);
  CHECK(eventually(
      [&] {
        double now = value_or(pgpulse.scrape(), "pgpulse_pgbouncer_max_wait_seconds", labels);
        return now >= 1 && now > first;
      },
      2 * kInterval + 1500ms, 100ms));
  auto report = target_report(pgpulse.port(), "bouncer");
  auto who_waits = step_of(report, "pgbouncer_waiting");
  CHECK(who_waits["severity"] == "warning");
  CHECK(who_waits["finding"].get<std::string>().find("session/postgres (1 waiting, 2/2 servers") !=
        std::string::npos);
  CHECK(step_of(report, "pgbouncer_pools")["finding"].get<std::string>().find(
            "session/postgres 2/2") != std::string::npos);
  // a holder leaves: the waiter gets its server connection and nobody waits
  pool.holders.pop_back();
  CHECK(eventually(
      [&] { return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_clients", waiting) == 0; },
      2 * kInterval + 500ms, 50ms));
  CHECK(eventually(
      [&] { return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_max_wait_seconds", labels) == 0; },
      2 * kInterval + 500ms));
}

TEST_CASE("in transaction mode open transactions fill the pool, and the server names their pool",
          "[pgbouncer]") {
  LeavesNoServerConnections cleanup;
  auto pgpulse = watch_both("pgb-transaction");
  REQUIRE(eventually(
      [&] {
        return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_up", {{"target", "bouncer"}}) == 1;
      },
      10s));
  Session direct(TestDatabase::dsn("application_name=it-pgb-direct"));
  FullPool pool("transaction", true);
  std::map<std::string, std::string> waiting{{"target", "bouncer"},
                                             {"database", "transaction"},
                                             {"user", "postgres"},
                                             {"state", "waiting"}};
  REQUIRE(eventually(
      [&] { return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_clients", waiting) == 1; },
      2 * kInterval + 500ms, 50ms));
  CHECK(std::chrono::steady_clock::now() - pool.waiting_since <= 2 * kInterval + 500ms);
  // On the server: the two backends in a transaction are PgBouncer's pool, the test's own
  // direct session is not (SHOW SERVERS remote_pid and local_port against pg_stat_activity).
  std::map<std::string, std::string> through{{"target", "db"},
                                             {"pgbouncer", "bouncer"},
                                             {"database", "transaction"},
                                             {"state", "idle in transaction"}};
  CHECK(eventually(
      [&] { return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_backends", through) == 2; },
      4 * kInterval));
  auto scrape = pgpulse.scrape();
  double direct_clients = value_or(scrape, "pgpulse_direct_client_backends", {{"target", "db"}});
  double all_clients = scrape.sum("pgpulse_connections", {{"target", "db"}});
  double pgbouncer_backends = scrape.sum("pgpulse_pgbouncer_backends", {{"target", "db"}});
  CHECK(direct_clients >= 1);  // the test's own session
  CHECK(direct_clients + pgbouncer_backends == all_clients);
  auto db = target_report(pgpulse.port(), "db");
  // (the pools of earlier tests keep their idle server connections: the order may vary)
  auto connections = step_of(db, "connections")["finding"].get<std::string>();
  INFO(connections);
  CHECK(connections.find(" through PgBouncer (") != std::string::npos);
  CHECK(connections.find("bouncer pool transaction/postgres 2") != std::string::npos);
  CHECK(connections.find(std::to_string(static_cast<long>(direct_clients)) + " direct") !=
        std::string::npos);
  CHECK(step_of(db, "idle")["finding"].get<std::string>().find(
            "2 idle in transaction through pgbouncer bouncer pool transaction/postgres") !=
        std::string::npos);
  // the transactions end: the waiter is served
  for (auto& holder : pool.holders) holder.exec("COMMIT");
  CHECK(eventually(
      [&] { return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_clients", waiting) == 0; },
      2 * kInterval + 500ms, 50ms));
}

TEST_CASE("a PgBouncer budget over the server's slots is flagged", "[pgbouncer]") {
  LeavesNoServerConnections cleanup;
  auto pgpulse = watch_both("pgb-budget");
  // The budget database (pool_size 150 + reserve 10) gets a pool once a client logs in.
  Session client(PgBouncer::client_dsn("budget", "it-pgb-budget"));
  client.exec("SELECT 1");
  const std::map<std::string, std::string> labels{{"target", "bouncer"}, {"server", "db"}};
  REQUIRE(eventually(
      [&] {
        return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_server_budget_ratio", labels) > 1;
      },
      10s));
  auto scrape = pgpulse.scrape();
  double budget = value_or(scrape, "pgpulse_pgbouncer_server_budget_connections", labels);
  double usable = value_or(scrape, "pgpulse_max_connections", {{"target", "db"}}) -
                  value_or(scrape, "pgpulse_reserved_connections", {{"target", "db"}});
  CHECK(budget >= 160);
  CHECK(value_or(scrape, "pgpulse_pgbouncer_server_budget_ratio", labels) ==
        Approx(budget / usable));
  auto budget_step = step_of(target_report(pgpulse.port(), "bouncer"), "pgbouncer_budget");
  CHECK(budget_step["severity"] == "warning");
  CHECK(budget_step["finding"].get<std::string>().find("usable slots of db") != std::string::npos);

  // `pgpulse check` runs the server first, so the PgBouncer's budget is checked against it.
  std::string output;
  int code = run_command({pgpulse_binary(), "check", "--config", config_file("pgb-check"),
                          "--no-collector.rls", "--output", "json"},
                         output);
  INFO(output);
  CHECK(code >= 1);
  auto report = nlohmann::json::parse(output);
  nlohmann::json bouncer;
  for (const auto& t : report["targets"]) {
    if (t["target"] == "bouncer") bouncer = t;
  }
  CHECK(step_of(bouncer, "health")["severity"] == "ok");
  CHECK(step_of(bouncer, "pgbouncer_budget")["severity"] == "warning");
}

TEST_CASE("a PgBouncer killed and restarted is reported down, then recovered", "[pgbouncer]") {
  LeavesNoServerConnections cleanup;
  auto pgpulse = watch_both("pgb-restart");
  REQUIRE(eventually(
      [&] {
        return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_up", {{"target", "bouncer"}}) == 1;
      },
      10s));
  struct Restart {  // whatever happens below, PgBouncer is running again afterwards
    ~Restart() { PgBouncer::control("start"); }
  } restart;
  PgBouncer::control("kill");
  CHECK(eventually(
      [&] {
        return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_up", {{"target", "bouncer"}}) == 0;
      },
      4 * kInterval));
  auto scrape = pgpulse.scrape();
  CHECK_FALSE(scrape.value("pgpulse_pgbouncer_clients"));  // its pool data is gone, not stale
  CHECK(value_or(scrape, "pgpulse_up", {{"target", "db"}}) == 1);  // the server is fine
  auto report = target_report(pgpulse.port(), "bouncer");
  CHECK(report["verdict"] == "critical");
  CHECK(step_of(report, "health")["finding"].get<std::string>().find(
            "PgBouncer does not answer (refused)") != std::string::npos);
  // the server's signals go on while PgBouncer is away
  Session direct(TestDatabase::dsn("application_name=it-pgb-while-down"));
  CHECK(eventually(
      [&] {
        return value_or(pgpulse.scrape(), "pgpulse_connections",
                        {{"target", "db"}, {"application_name", "it-pgb-while-down"}}, 0) == 1;
      },
      4 * kInterval));
  PgBouncer::control("start");
  CHECK(eventually(
      [&] {
        return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_up", {{"target", "bouncer"}}) == 1;
      },
      4 * kInterval));
  CHECK(eventually(
      [&] {
        return value_or(pgpulse.scrape(), "pgpulse_collector_success",
                        {{"target", "bouncer"}, {"collector", "pgbouncer_pools"}}) == 1;
      },
      4 * kInterval));
  CHECK(target_report(pgpulse.port(), "bouncer")["verdict"] != "critical");
}

TEST_CASE("a PgBouncer added on SIGHUP in front of a running server is joined with it",
          "[pgbouncer]") {
  LeavesNoServerConnections cleanup;
  auto path = write_temp_file("pgb-reload.yml", "interval: 1s\ntargets:\n  - name: db\n    dsn: " +
                                                    TestDatabase::dsn() + "\n");
  PgpulseProcess pgpulse({"--config", path, "--no-collector.rls"});
  const std::map<std::string, std::string> backends{{"target", "db"},
                                                    {"collector", "pgbouncer_backends"}};
  REQUIRE(eventually(
      [&] { return value_or(pgpulse.scrape(), "pgpulse_collector_applicable", backends) == 0; },
      10s));
  // The server's collectors were built knowing no PgBouncer names it: the new link restarts it.
  std::string text;
  {
    std::ifstream in(config_file("pgb-reload-both"));
    std::ostringstream all;
    all << in.rdbuf();
    text = "interval: 1s\n" + all.str();
  }
  write_temp_file("pgb-reload.yml", text);
  pgpulse.signal(SIGHUP);
  CHECK(eventually(
      [&] {
        auto scrape = pgpulse.scrape();
        return value_or(scrape, "pgpulse_collector_applicable", backends) == 1 &&
               value_or(scrape, "pgpulse_collector_success", backends) == 1 &&
               value_or(scrape, "pgpulse_pgbouncer_up", {{"target", "bouncer"}}) == 1;
      },
      10s));
  Session client(PgBouncer::client_dsn("budget", "it-pgb-reload"));
  client.exec("SELECT 1");
  CHECK(eventually(
      [&] {
        return value_or(pgpulse.scrape(), "pgpulse_pgbouncer_server_budget_ratio",
                        {{"target", "bouncer"}, {"server", "db"}}) > 1;
      },
      5s));
}
