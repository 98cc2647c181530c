// What the statements collector reports from an interval: the details (/statements, /diagnose),
// the runbook thresholds, the bounded families; and which SQL and which "not applicable" reason
// each pg_stat_statements version and setup gets.
#include <catch2/catch.hpp>

#include <set>

#include "collectors/statements.hpp"
#include "core/exposition.hpp"

using namespace pgpulse::collectors;
using namespace std::chrono_literals;

namespace {

StatementRow entry(std::int64_t queryid, double calls, double seconds, double rows = 0) {
  StatementRow r;
  r.key = StatementKey{10, 5, queryid};
  r.counters.calls = calls;
  r.counters.seconds = seconds;
  r.counters.rows = rows;
  return r;
}

StatementsScan scan_at(double now, std::vector<StatementRow> rows) {
  StatementsScan s;
  s.server_now = now;
  s.stats_reset = 1.0;
  s.dealloc = 0.0;
  s.tracked = static_cast<long>(rows.size());
  s.max = 5000;
  s.rows = std::move(rows);
  return s;
}

// Two scans 30 s apart; `after` adds each row's counters to a zero baseline.
struct Polled {
  StatementsScan scan;
  StatementsInterval interval;
};
Polled poll_twice(std::vector<StatementRow> after, std::size_t top_n) {
  std::vector<StatementRow> before;
  for (auto row : after) {
    row.counters = {};
    before.push_back(row);
  }
  StatementTracker tracker;
  tracker.update(scan_at(1000, before), top_n);
  auto scan = scan_at(1030, std::move(after));
  auto interval = tracker.update(scan, top_n);
  return {scan, interval};
}

std::size_t series(const pgpulse::core::Families& families, const std::string& name) {
  for (const auto& family : families) {
    if (family.name == name) return family.metric.size();
  }
  return 0;
}

}  // namespace

TEST_CASE("slow, chatty and large-result statements by the configured thresholds") {
  pgpulse::config::StatementsConfig options;  // slow 1s, chatty 100/s under 10ms, large 10000
  auto slow = entry(1, 3, 4.5);               // 1.5 s per call
  auto chatty = entry(2, 30 * 500, 30 * 500 * 0.0002);          // 500 calls/s at 0.2 ms
  auto busy_but_slowish = entry(3, 30 * 500, 30 * 500 * 0.05);  // 500/s at 50 ms: not chatty
  auto large = entry(4, 2, 0.2, 50000);                         // 25,000 rows per call
  auto plain = entry(5, 10, 0.1, 10);
  auto polled = poll_twice({slow, chatty, busy_but_slowish, large, plain}, 20);
  auto d = statement_details(polled.scan, polled.interval, {}, options);
  CHECK(d.has_interval);
  CHECK(d.interval_seconds == 30);
  CHECK(d.slow == 1);
  CHECK(d.chatty == 1);
  CHECK(d.large_result == 1);
  std::map<std::string, pgpulse::core::StatementStats> by_id;
  for (const auto& s : d.top) by_id[s.queryid] = s;
  CHECK(by_id.at("1").slow);
  CHECK(by_id.at("1").mean_seconds == Approx(1.5));
  CHECK(by_id.at("2").chatty);
  CHECK(by_id.at("2").calls_per_second == Approx(500));
  CHECK_FALSE(by_id.at("3").chatty);
  CHECK(by_id.at("4").large_result);
  CHECK(by_id.at("4").rows_per_call == Approx(25000));
  CHECK_FALSE(by_id.at("5").slow);
  // Thresholds are the config's.
  options.slow_mean = 2000ms;
  options.large_result_rows = 30000;
  options.chatty_calls_per_second = 1000;
  d = statement_details(polled.scan, polled.interval, {}, options);
  CHECK(d.slow == 0);
  CHECK(d.large_result == 0);
  CHECK(d.chatty == 0);
}

TEST_CASE("a slow statement outside the top N still counts in pgpulse_slow_statements") {
  pgpulse::config::StatementsConfig options;
  options.top_n = 1;
  auto big = entry(1, 100000, 600);  // most time, 6 ms per call
  auto slow = entry(2, 2, 4);        // 2 s per call, less time in all
  auto polled = poll_twice({big, slow}, 1);
  auto d = statement_details(polled.scan, polled.interval, {}, options);
  REQUIRE(d.top.size() == 1);
  CHECK(d.top[0].queryid == "1");
  CHECK(d.slow == 1);
  CHECK(d.other.calls == 2);
  CHECK_FALSE(d.other.slow);  // other is many statements: never flagged
  auto families = statement_families(polled.scan, polled.interval, d);
  bool found = false;
  for (const auto& family : families) {
    if (family.name == "pgpulse_slow_statements") found = family.metric.at(0).gauge.value == 1;
  }
  CHECK(found);
}

TEST_CASE("interval numbers: hit ratio, temp bytes, share of time, since-reset extremes") {
  auto a = entry(1, 10, 3, 100);
  a.counters.shared_blks_hit = 90;
  a.counters.shared_blks_read = 10;
  a.counters.temp_blks_written = 4;
  a.max_seconds = 0.9;
  a.stddev_seconds = 0.1;
  auto b = entry(2, 10, 1);  // no block access: hit ratio unknown
  auto polled = poll_twice({a, b}, 20);
  auto d = statement_details(polled.scan, polled.interval, {}, {});
  REQUIRE(d.top.size() == 2);
  CHECK(d.top[0].hit_ratio == Approx(0.9));
  CHECK(d.top[0].temp_bytes == 4 * 8192);
  CHECK(d.top[0].share_of_time == Approx(0.75));
  CHECK(d.top[0].max_seconds == 0.9);
  CHECK(d.top[0].stddev_seconds == 0.1);
  CHECK_FALSE(d.top[1].hit_ratio.has_value());
  CHECK(d.seconds == Approx(4));
  CHECK(d.mean_seconds == Approx(0.2));
  CHECK(d.deallocations == 0);
}

TEST_CASE("names and text come from what was fetched, text normalised; oids when nothing was") {
  auto polled = poll_twice({entry(1, 10, 3), entry(2, 10, 1)}, 20);
  StatementTexts texts;
  texts[StatementKey{10, 5, 1}] = StatementText{
      "app", "web",
      "SELECT * FROM t WHERE id = $1 /*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-"
      "00f067aa0ba902b7-01',route='/api/x'*/ AND kind = 'secret'"};
  pgpulse::config::StatementsConfig options;
  options.text_max_length = 60;
  auto d = statement_details(polled.scan, polled.interval, texts, options);
  REQUIRE(d.top.size() == 2);
  CHECK(d.top[0].datname == "app");
  CHECK(d.top[0].usename == "web");
  CHECK(d.top[0].query == "SELECT * FROM t WHERE id = $1 /* ? */ AND kind = ?");
  CHECK(d.top[1].datname == "5");  // dbid
  CHECK(d.top[1].usename == "10");
  CHECK(d.top[1].query.empty());
}

TEST_CASE("texts are fetched for top statements without one, at most every other poll") {
  std::vector<StatementInterval> top(3);
  for (int i = 0; i < 3; ++i) top[i].key = StatementKey{10, 5, i + 1};
  std::map<StatementKey, std::string> held{{StatementKey{10, 5, 2}, "SELECT 2"}};
  auto first = texts_to_fetch(top, held, std::nullopt, 7);
  CHECK(first == std::vector<StatementKey>{{10, 5, 1}, {10, 5, 3}});
  CHECK(texts_to_fetch(top, held, 7L, 8).empty());  // fetched at the previous poll: next one
  CHECK(texts_to_fetch(top, held, 7L, 9).size() == 2);
  held[StatementKey{10, 5, 1}] = "SELECT 1";
  held[StatementKey{10, 5, 3}] = "SELECT 3";
  CHECK(texts_to_fetch(top, held, std::nullopt, 20).empty());  // all held: no fetch at all
}

TEST_CASE("with 5,000 distinct statements each statement family has N + 1 series") {
  std::vector<StatementRow> rows;
  for (int q = 1; q <= 5000; ++q) rows.push_back(entry(q, q, q * 0.001));
  auto polled = poll_twice(rows, 20);
  auto d = statement_details(polled.scan, polled.interval, {}, {});
  auto families = statement_families(polled.scan, polled.interval, d);
  for (const char* name :
       {"pgpulse_statement_seconds_total", "pgpulse_statement_calls_total",
        "pgpulse_statement_rows_total", "pgpulse_statement_mean_seconds",
        "pgpulse_statement_temp_bytes_total", "pgpulse_statement_shared_blocks_read_total"}) {
    INFO(name);
    CHECK(series(families, name) == 21);
  }
  std::size_t total = 0;
  for (const auto& family : families) total += family.metric.size();
  CHECK(total == 6 * 21 + 8);
  CHECK(series(families, "pgpulse_statements_tracked") == 1);
  // Rendered, no series carries query text.
  auto rendered = pgpulse::core::render_families("main", families);
  std::set<std::string> labels;
  for (const auto& family : rendered) {
    for (const char* word : {"SELECT", "query="}) {
      CHECK(family.samples.find(word) == std::string::npos);
    }
  }
}

TEST_CASE("the baseline poll exports the totals and other, no statements and no runbook gauges") {
  StatementTracker tracker;
  auto scan = scan_at(1000, {entry(1, 10, 1)});
  auto interval = tracker.update(scan, 20);
  auto d = statement_details(scan, interval, {}, {});
  auto families = statement_families(scan, interval, d);
  CHECK_FALSE(d.has_interval);
  CHECK(series(families, "pgpulse_statement_seconds_total") == 1);  // other
  CHECK(series(families, "pgpulse_statement_mean_seconds") == 0);
  CHECK(series(families, "pgpulse_slow_statements") == 0);
  CHECK(series(families, "pgpulse_statements_seconds_total") == 1);
  CHECK(series(families, "pgpulse_statements_deallocations_total") == 1);
  scan.dealloc.reset();  // PostgreSQL 13
  families = statement_families(scan, interval, d);
  CHECK(series(families, "pgpulse_statements_deallocations_total") == 0);
}

TEST_CASE("applicability: the reason says what is missing and how to enable it") {
  StatementsSupportRow row;
  row.datname = "app";
  row.usename = "monitor";
  row.schema = "public";
  auto missing = assess_statements_support(row);
  CHECK_FALSE(missing.applicability.applicable);
  CHECK_THAT(missing.applicability.reason, Catch::Contains("not installed in database \"app\"") &&
                                               Catch::Contains("shared_preload_libraries") &&
                                               Catch::Contains("CREATE EXTENSION"));
  row.extversion = "1.7";
  auto old = assess_statements_support(row);
  CHECK_FALSE(old.applicability.applicable);
  CHECK_THAT(old.applicability.reason,
             Catch::Contains("ALTER EXTENSION pg_stat_statements UPDATE"));
  row.extversion = "1.10";
  auto unprivileged = assess_statements_support(row);
  CHECK_FALSE(unprivileged.applicability.applicable);
  CHECK_THAT(unprivileged.applicability.reason, Catch::Contains("GRANT pg_read_all_stats"));
  row.read_all_stats = true;
  auto ok = assess_statements_support(row);
  CHECK(ok.applicability.applicable);
  CHECK(ok.version == 110);
  CHECK(ok.schema == "public");
  CHECK_THAT(*probe_failure_reason("55000", row), Catch::Contains("shared_preload_libraries"));
  CHECK_THAT(*probe_failure_reason("42501", row), Catch::Contains("GRANT EXECUTE"));
  CHECK_FALSE(probe_failure_reason("57014", row).has_value());  // a timeout says nothing
}

TEST_CASE("extension versions: 1.8 < 1.9 < 1.10 < 1.11, malformed ones are 0") {
  CHECK(parse_extension_version("1.8") == 108);
  CHECK(parse_extension_version("1.10") == 110);
  CHECK(parse_extension_version("1.11") == 111);
  CHECK(parse_extension_version("1.9") < parse_extension_version("1.10"));
  for (const char* bad : {"", "1", "x.y", "1.", "1.2.3", "1.100"}) {
    INFO(bad);
    CHECK(parse_extension_version(bad) == 0);
  }
}

TEST_CASE("SQL by extension version: toplevel and info from 1.9, stats_since from 1.11") {
  auto v18 = statements_sql("\"my schema\"", 108);
  CHECK_THAT(v18.scan, Catch::Contains("FROM \"my schema\".pg_stat_statements(false)"));
  CHECK_THAT(v18.scan, Catch::Contains("true AS toplevel"));
  CHECK_THAT(v18.scan, Catch::Contains("NULL::float8 AS stats_since"));
  CHECK_THAT(v18.header, !Catch::Contains("pg_stat_statements_info"));
  CHECK_THAT(v18.text, !Catch::Contains("toplevel"));
  auto v110 = statements_sql("public", 110);
  CHECK_THAT(v110.scan, Catch::Contains("toplevel,"));
  CHECK_THAT(v110.header, Catch::Contains("FROM public.pg_stat_statements_info"));
  CHECK_THAT(v110.scan, Catch::Contains("NULL::float8 AS stats_since"));
  CHECK_THAT(v110.text,
             Catch::Contains("pg_stat_statements(true)") && Catch::Contains("WHERE s.toplevel"));
  auto v111 = statements_sql("public", 111);
  CHECK_THAT(v111.scan, Catch::Contains("date_part('epoch', stats_since) AS stats_since"));
  for (const auto* sql : {&v18, &v110, &v111}) {
    CHECK_THAT(sql->scan, !Catch::Contains("pg_stat_statements(true)"));  // never text in scans
  }
}
