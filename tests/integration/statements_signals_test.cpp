// The statements runbook signals on a real server: a repeated slow query, an N+1 loop and a
// large-result query each move their gauge, and /statements, the status page and /diagnose name
// the statement.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <thread>

#include "support.hpp"

using namespace pgpulse::testing;
using nlohmann::json;

namespace {

std::vector<std::string> args(std::vector<std::string> extra) {
  std::vector<std::string> out{"--dsn",
                               TestDatabase::dsn(),
                               "--target-name",
                               "main",
                               "--interval",
                               "1s",
                               "--collector.statements.interval",
                               "1s",
                               "--statements.top-n",
                               "10"};
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

json get_json(const PgpulseProcess& pgpulse, const std::string& path) {
  auto result = http_get(pgpulse.port(), path);
  REQUIRE(result.status == 200);
  return json::parse(result.body);
}

// The /statements entry whose normalised text starts with `prefix`; null when not listed.
json listed(const PgpulseProcess& pgpulse, const std::string& prefix) {
  auto body = get_json(pgpulse, "/statements");
  const auto& statements = body["targets"][0]["statements"];
  if (!statements.is_object()) return nullptr;
  for (const auto& s : statements["top"]) {
    if (s["query"].get<std::string>().rfind(prefix, 0) == 0) return s;
  }
  return nullptr;
}

double gauge(const PgpulseProcess& pgpulse, const std::string& name) {
  return pgpulse.scrape().value(name).value_or(-1);
}

// Nothing of the kind in the interval before the workload: the gauge exists and reads 0.
void quiet_before(const PgpulseProcess& pgpulse, const std::string& name) {
  REQUIRE(eventually([&] { return gauge(pgpulse, name) == 0; }, 15s, 200ms));
}

}  // namespace

TEST_CASE("a repeated slow query moves pgpulse_slow_statements and is named everywhere",
          "[statements][signals]") {
  // pg_stat_statements keeps the text of a statement's first call: make it this test's.
  Session(TestDatabase::dsn()).exec("SELECT pg_stat_statements_reset()");
  PgpulseProcess pgpulse(args({"--statements.slow-mean", "200ms"}));
  quiet_before(pgpulse, "pgpulse_slow_statements");
  Session app(TestDatabase::dsn("application_name=it-stmt-slow"));
  json entry;
  bool seen = eventually(
      [&] {
        app.exec("SELECT pg_sleep(0.3) /* customer 'alice@example.com' */");
        entry = listed(pgpulse, "SELECT pg_sleep($1)");
        return gauge(pgpulse, "pgpulse_slow_statements") >= 1 && entry.is_object() &&
               entry["slow"] == true;
      },
      20s, 10ms);
  REQUIRE(seen);
  CHECK(entry["mean_seconds"].get<double>() >= 0.3);
  CHECK(entry["query"] == "SELECT pg_sleep($1) /* ? */");  // the comment's body never shows
  CHECK(entry["usename"] == "postgres");
  CHECK(entry["datname"] == "postgres");
  auto queryid = entry["queryid"].get<std::string>();
  CHECK(pgpulse.scrape().value("pgpulse_statement_mean_seconds", {{"queryid", queryid}}) > 0.2);
  auto page = http_get(pgpulse.port(), "/");
  CHECK_THAT(page.body, Catch::Contains("<h3>Top statements</h3>") &&
                            Catch::Contains("SELECT pg_sleep($1) /* ? */") &&
                            Catch::Contains(queryid));
  CHECK(page.body.find("alice@example.com") == std::string::npos);
  json step;
  CHECK(eventually(
      [&] {
        app.exec("SELECT pg_sleep(0.3)");
        auto report = get_json(pgpulse, "/diagnose");
        for (const auto& s : report["targets"][0]["steps"]) {
          if (s["id"] == "statements") step = s;
        }
        return step.is_object() && step["severity"] == "warning";
      },
      15s, 10ms));
  CHECK_THAT(step["finding"].get<std::string>(), Catch::Contains("queryid " + queryid));
}

TEST_CASE("an N+1 loop moves pgpulse_chatty_statements", "[statements][signals]") {
  Session admin(TestDatabase::dsn());
  admin.exec(
      "DROP TABLE IF EXISTS it_stmt_items; CREATE TABLE it_stmt_items AS SELECT g AS id, "
      "g % 100 AS order_id FROM generate_series(1, 10000) g; CREATE INDEX ON it_stmt_items (id)");
  PgpulseProcess pgpulse(
      args({"--statements.chatty-calls-per-second", "50", "--statements.chatty-max-mean", "10ms"}));
  quiet_before(pgpulse, "pgpulse_chatty_statements");
  Session app(TestDatabase::dsn("application_name=it-stmt-n-plus-one"));
  json entry;
  bool seen = eventually(
      [&] {
        for (int id = 1; id <= 300; ++id) {  // one query per item instead of one IN (...)
          app.exec("SELECT order_id FROM it_stmt_items WHERE id = " + std::to_string(id));
        }
        entry = listed(pgpulse, "SELECT order_id FROM it_stmt_items WHERE id = $1");
        return gauge(pgpulse, "pgpulse_chatty_statements") >= 1 && entry.is_object() &&
               entry["chatty"] == true;
      },
      20s, 10ms);
  REQUIRE(seen);
  CHECK(entry["calls_per_second"].get<double>() > 50);
  CHECK(entry["mean_seconds"].get<double>() < 0.01);
  CHECK(entry["rows_per_call"].get<double>() == 1);
  admin.exec("DROP TABLE it_stmt_items");
}

TEST_CASE("a large-result query moves pgpulse_large_result_statements", "[statements][signals]") {
  PgpulseProcess pgpulse(args({"--statements.large-result-rows", "10000"}));
  quiet_before(pgpulse, "pgpulse_large_result_statements");
  Session app(TestDatabase::dsn("application_name=it-stmt-large"));
  json entry;
  bool seen = eventually(
      [&] {
        app.exec("SELECT g, repeat('x', 10) FROM generate_series(1, 50000) AS g");
        entry = listed(pgpulse, "SELECT g, repeat($1, $2) FROM generate_series($3, $4) AS g");
        return gauge(pgpulse, "pgpulse_large_result_statements") >= 1 && entry.is_object() &&
               entry["large_result"] == true;
      },
      20s, 50ms);
  REQUIRE(seen);
  CHECK(entry["rows_per_call"].get<double>() == 50000);
}
