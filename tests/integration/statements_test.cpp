// The statements collector on a real server with pg_stat_statements preloaded: the series stay
// bounded under 5,000 distinct statements, a reset mid-run never counts down or spikes, and a
// database without the extension makes the collector "not applicable" without failing readiness.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

std::vector<std::string> statements_args(std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--dsn",
                                TestDatabase::dsn(),
                                "--target-name",
                                "main",
                                "--interval",
                                "1s",
                                "--collector.statements.interval",
                                "1s"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Series of one family, and the distinct queryids across the statement families.
std::size_t count_series(const Scrape& scrape, const std::string& name) {
  std::size_t n = 0;
  std::istringstream in(scrape.text());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0) ++n;
  }
  return n;
}

std::set<std::string> queryids(const Scrape& scrape) {
  std::set<std::string> ids;
  std::istringstream in(scrape.text());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("pgpulse_statement_", 0) != 0) continue;
    auto at = line.find("queryid=\"");
    if (at == std::string::npos) continue;
    at += 9;
    ids.insert(line.substr(at, line.find('"', at) - at));
  }
  return ids;
}

// `count` distinct top-level statements: ordered column triples of pg_class, LIMIT 0.
std::vector<std::string> distinct_statements(Session& session, int count) {
  std::vector<std::string> columns;
  auto list = session.scalar(
      "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = "
      "'pg_class'::regclass AND attnum > 0 AND NOT attisdropped");
  std::string item;
  for (char c : list + ",") {
    if (c == ',') {
      columns.push_back(item);
      item.clear();
    } else {
      item.push_back(c);
    }
  }
  std::vector<std::string> out;
  for (std::size_t a = 0; a < columns.size() && static_cast<int>(out.size()) < count; ++a) {
    for (std::size_t b = 0; b < columns.size() && static_cast<int>(out.size()) < count; ++b) {
      for (std::size_t c = 0; c < columns.size() && static_cast<int>(out.size()) < count; ++c) {
        if (a == b || b == c || a == c) continue;
        out.push_back("SELECT " + columns[a] + ", " + columns[b] + ", " + columns[c] +
                      " FROM pg_class LIMIT 0");
      }
    }
  }
  return out;
}

// Runs the statements in batches of 100 per round trip (each one still its own top-level
// statement for pg_stat_statements).
void run_all(Session& session, const std::vector<std::string>& statements) {
  std::string batch;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    batch += statements[i] + ";";
    if (i % 100 == 99 || i + 1 == statements.size()) {
      session.exec(batch);
      batch.clear();
    }
  }
}

std::string queryid_of(Session& session, const std::string& like) {
  return session.scalar("SELECT queryid FROM pg_stat_statements WHERE query LIKE '" + like +
                        "' ORDER BY calls DESC LIMIT 1");
}

}  // namespace

TEST_CASE("5,000 distinct statements keep the statement series at top N + other", "[statements]") {
  Session load(TestDatabase::dsn("application_name=it-stmt-many"));
  auto statements = distinct_statements(load, 5000);
  REQUIRE(statements.size() == 5000);
  PgpulseProcess pgpulse(statements_args({"--statements.top-n", "20"}));
  std::size_t most_ids = 0, most_total = 0;
  for (int round = 0; round < 4; ++round) {
    run_all(load, statements);
    std::this_thread::sleep_for(1200ms);
    auto scrape = pgpulse.scrape();
    auto ids = queryids(scrape);
    most_ids = std::max(most_ids, ids.size());
    std::size_t total = 0;
    for (const char* family :
         {"pgpulse_statement_seconds_total", "pgpulse_statement_calls_total",
          "pgpulse_statement_rows_total", "pgpulse_statement_mean_seconds",
          "pgpulse_statement_temp_bytes_total", "pgpulse_statement_shared_blocks_read_total"}) {
      auto n = count_series(scrape, family);
      INFO(family << " round " << round);
      CHECK(n <= 21);
      total += n;
    }
    most_total = std::max(most_total, total);
  }
  auto scrape = pgpulse.scrape();
  CHECK(most_ids > 1);  // the collector ran and found statements
  CHECK(most_ids <= 21);
  CHECK(most_total <= 6 * 21);
  CHECK(scrape.value("pgpulse_statements_tracked").value_or(0) >= 1000);
  CHECK(scrape.value("pgpulse_statements_max") == 5000);
  CHECK(scrape.value("pgpulse_collector_success", {{"collector", "statements"}}) == 1);
  // 5,000 new statements in a table of 5,000: entries were evicted, and pgpulse says so (14+;
  // PostgreSQL 13 does not count evictions).
  if (std::stoi(TestDatabase::env("PGPULSE_TEST_PGMAJOR")) >= 14) {
    CHECK(eventually(
        [&] {
          return pgpulse.scrape().value("pgpulse_statements_deallocations_total").value_or(0) > 0;
        },
        5s));
  } else {
    CHECK_FALSE(scrape.value("pgpulse_statements_deallocations_total").has_value());
  }
  CHECK(scrape.text().find("pg_class LIMIT") == std::string::npos);  // no text in labels
}

TEST_CASE("pg_stat_statements_reset() mid-run: no counter goes down, no spike",
          "[statements][reset]") {
  Session admin(TestDatabase::dsn());
  Session app(TestDatabase::dsn("application_name=it-stmt-reset"));
  admin.exec("DROP TABLE IF EXISTS it_stmt_reset; CREATE TABLE it_stmt_reset (id int)");
  admin.exec("SELECT pg_stat_statements_reset()");
  // A long history before pgpulse starts: 2,000 calls a spike would show.
  for (int i = 0; i < 20; ++i) {
    std::string batch;
    for (int j = 0; j < 100; ++j) batch += "SELECT count(*) FROM it_stmt_reset;";
    app.exec(batch);
  }
  auto queryid = queryid_of(admin, "SELECT count(*) FROM it_stmt_reset%");
  REQUIRE_FALSE(queryid.empty());
  PgpulseProcess pgpulse(statements_args({"--statements.top-n", "5"}));
  // The first read only takes the baseline: the history never arrives as a spike.
  std::optional<double> first_seen;
  REQUIRE(eventually(
      [&] {
        first_seen = pgpulse.scrape().value("pgpulse_statements_calls_total");
        return first_seen.has_value();
      },
      10s));
  CHECK(*first_seen < 500);
  int calls_made = 0;
  auto work = [&](int calls) {
    for (int i = 0; i < calls; ++i) app.exec("SELECT count(*) FROM it_stmt_reset");
    calls_made += calls;
  };
  std::map<std::string, std::string> ours{{"queryid", queryid}};
  // The statement is the busiest: it enters the top N, then its own counter moves.
  double start = 0;
  REQUIRE(eventually(
      [&] {
        work(20);
        auto value = pgpulse.scrape().value("pgpulse_statement_calls_total", ours);
        if (value && *value > 0) start = *value;
        return start > 0;
      },
      15s, 300ms));
  int made_before = calls_made;
  double first_total = pgpulse.scrape().value("pgpulse_statements_calls_total").value_or(0);
  double last_own = start, last_total = first_total;
  bool reset_done = false;
  for (int step = 0; step < 24; ++step) {
    work(20);
    if (step == 8) {
      admin.exec("SELECT pg_stat_statements_reset()");
      reset_done = true;
    }
    std::this_thread::sleep_for(300ms);
    auto scrape = pgpulse.scrape();
    auto own = scrape.value("pgpulse_statement_calls_total", ours);
    auto total = scrape.value("pgpulse_statements_calls_total").value_or(0);
    INFO("step " << step);
    CHECK(total >= last_total);
    last_total = total;
    if (own) {
      CHECK(*own >= last_own);
      last_own = *own;
    }
  }
  CHECK(reset_done);
  // Never more than the calls made since the counter's first sample: the 2,000 calls of the
  // history, or the counts since the reset, never arrive as one spike.
  CHECK(last_own - start <= calls_made - made_before + 20);
  CHECK(last_own - start >= 100);  // and it kept counting through the reset
  // The server total likewise: the calls made, plus pgpulse's own few queries per poll.
  CHECK(last_total - first_total <= calls_made - made_before + 600);
  admin.exec("DROP TABLE it_stmt_reset");
}

TEST_CASE("a database without the extension: not applicable with the reason, /readyz 200",
          "[statements][applicability]") {
  Session admin(TestDatabase::dsn());
  admin.exec("DROP DATABASE IF EXISTS it_stmt_noext");
  admin.exec("CREATE DATABASE it_stmt_noext");
  auto dsn = "host=" + TestDatabase::host() + " port=" + TestDatabase::port() +
             " user=postgres dbname=it_stmt_noext";
  {
    PgpulseProcess pgpulse({"--dsn", dsn, "--target-name", "noext", "--interval", "1s"});
    CHECK(eventually(
        [&] {
          return pgpulse.scrape().value("pgpulse_collector_applicable",
                                        {{"collector", "statements"}}) == 0;
        },
        10s));
    HttpResult ready;
    CHECK(eventually(
        [&] {
          ready = http_get(pgpulse.port(), "/readyz");
          return ready.status == 200;
        },
        10s));
    CHECK_THAT(ready.body, Catch::Contains("collector statements not applicable: "
                                           "pg_stat_statements is not installed in database "
                                           "\"it_stmt_noext\""));
    CHECK_THAT(ready.body, Catch::Contains("CREATE EXTENSION pg_stat_statements"));
    auto scrape = pgpulse.scrape();
    CHECK_FALSE(scrape.value("pgpulse_statements_tracked").has_value());
    CHECK(scrape.value("pgpulse_collector_applicable", {{"collector", "connections"}}) == 1);
  }
  admin.exec("DROP DATABASE it_stmt_noext");
}
