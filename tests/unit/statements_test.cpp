// The statements collector's pure parts on made-up pg_stat_statements scans: interval deltas,
// the top N and "other", resets and evictions that must never count down or spike, the series
// bound, the runbook thresholds, and the SQL and applicability by extension version.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <random>

#include "collectors/statements.hpp"

using namespace pgpulse::collectors;
using namespace std::chrono_literals;

namespace {

StatementRow entry(std::int64_t queryid, double calls, double seconds, double rows = 0,
                   std::uint32_t userid = 10, std::uint32_t dbid = 5) {
  StatementRow r;
  r.key = StatementKey{userid, dbid, queryid};
  r.counters.calls = calls;
  r.counters.seconds = seconds;
  r.counters.rows = rows;
  r.counters.shared_blks_hit = calls * 3;
  r.counters.shared_blks_read = calls;
  r.max_seconds = calls > 0 ? seconds / calls * 2 : 0;
  return r;
}

StatementsScan scan_at(double now, std::vector<StatementRow> rows,
                       std::optional<double> stats_reset = 1000.0,
                       std::optional<double> dealloc = 0.0) {
  StatementsScan s;
  s.server_now = now;
  s.stats_reset = stats_reset;
  s.dealloc = dealloc;
  s.tracked = static_cast<long>(rows.size());
  s.max = 5000;
  s.rows = std::move(rows);
  return s;
}

const StatementInterval* find(const std::vector<StatementInterval>& list, std::int64_t queryid) {
  for (const auto& e : list) {
    if (e.key.queryid == queryid) return &e;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("the first scan takes the baseline: no interval, no statement series, counters at 0") {
  StatementTracker tracker;
  auto first = tracker.update(scan_at(100, {entry(1, 50, 10), entry(2, 5, 1)}), 20);
  CHECK_FALSE(first.has_interval);
  CHECK(first.top.empty());
  CHECK(first.total_exported == StatementCounters{});
  auto second = tracker.update(scan_at(130, {entry(1, 60, 12), entry(2, 5, 1)}), 20);
  CHECK(second.has_interval);
  CHECK(second.start == 100);
  CHECK(second.end == 130);
  REQUIRE(second.top.size() == 1);  // statement 2 did nothing in the interval
  CHECK(second.top[0].delta.calls == 10);
  CHECK(second.top[0].delta.seconds == Approx(2));
}

TEST_CASE("the top N by time in the interval, the rest in other, and the totals add up") {
  StatementTracker tracker;
  std::vector<StatementRow> before, after;
  for (int q = 1; q <= 10; ++q) {
    before.push_back(entry(q, 100, 100));
    // Statement q spends q seconds in the interval; statement 10 the most.
    after.push_back(entry(q, 100 + q, 100 + q, 100 + q));
  }
  tracker.update(scan_at(0, before), 3);
  auto interval = tracker.update(scan_at(30, after), 3);
  REQUIRE(interval.top.size() == 3);
  CHECK(interval.top[0].key.queryid == 10);
  CHECK(interval.top[1].key.queryid == 9);
  CHECK(interval.top[2].key.queryid == 8);
  CHECK(interval.all.size() == 10);
  CHECK(interval.other_delta.seconds == Approx(1 + 2 + 3 + 4 + 5 + 6 + 7));
  CHECK(interval.total_delta.seconds == Approx(55));
  double top_seconds = 0;
  for (const auto& e : interval.top) top_seconds += e.delta.seconds;
  CHECK(top_seconds + interval.other_delta.seconds == Approx(interval.total_delta.seconds));
}

TEST_CASE("a statement's own counters move only while it stays in the top N") {
  StatementTracker tracker;
  tracker.update(scan_at(0, {entry(1, 0, 0), entry(2, 0, 0)}), 1);
  // Interval 1: statement 1 enters the top N; its interval counts into other.
  auto i1 = tracker.update(scan_at(30, {entry(1, 10, 10), entry(2, 1, 1)}), 1);
  REQUIRE(i1.top.size() == 1);
  CHECK(i1.top[0].key.queryid == 1);
  CHECK(i1.top[0].exported.seconds == 0);
  CHECK(i1.other_exported.seconds == Approx(11));
  // Interval 2: it stays, and its counter moves by its delta.
  auto i2 = tracker.update(scan_at(60, {entry(1, 20, 20), entry(2, 2, 2)}), 1);
  CHECK(i2.top[0].exported.seconds == Approx(10));
  CHECK(i2.other_exported.seconds == Approx(12));
  // Interval 3: statement 2 takes its place; 1 leaves the output, its time goes to other.
  auto i3 = tracker.update(scan_at(90, {entry(1, 21, 21), entry(2, 12, 32)}), 1);
  CHECK(i3.top[0].key.queryid == 2);
  CHECK(find(i3.top, 1) == nullptr);
  CHECK(i3.other_exported.seconds == Approx(12 + 1 + 30));
  // Interval 4: 1 comes back: it resumes at 10, with no jump for the intervals it was away.
  auto i4 = tracker.update(scan_at(120, {entry(1, 121, 121), entry(2, 13, 33)}), 1);
  REQUIRE(i4.top[0].key.queryid == 1);
  CHECK(i4.top[0].exported.seconds == Approx(10));
  auto i5 = tracker.update(scan_at(150, {entry(1, 221, 221), entry(2, 13, 33)}), 1);
  CHECK(i5.top[0].exported.seconds == Approx(110));
  // Every second ever spent is in exactly one exported counter: statement 1's (110), statement
  // 2's (0: it entered in interval 3 and left in 4) or other's.
  CHECK(i5.total_exported.seconds == Approx(221 + 33));
  CHECK(i5.top[0].exported.seconds + i5.other_exported.seconds ==
        Approx(i5.total_exported.seconds));
}

TEST_CASE("pg_stat_statements_reset() gives the work since the reset, never negative deltas") {
  StatementTracker tracker;
  tracker.update(scan_at(0, {entry(1, 1000, 500), entry(2, 1000, 400)}), 5);
  tracker.update(scan_at(30, {entry(1, 1010, 505), entry(2, 1010, 404)}), 5);
  // Reset at 40, then statement 1 ran 3 times for 1.5 s: stats_reset moved.
  auto after = tracker.update(scan_at(60, {entry(1, 3, 1.5)}, 40.0), 5);
  CHECK(after.full_reset);
  REQUIRE(after.all.size() == 1);
  CHECK(after.all[0].delta.calls == 3);
  CHECK(after.all[0].delta.seconds == Approx(1.5));
  CHECK(after.total_delta.seconds == Approx(1.5));
  CHECK(after.total_exported.seconds == Approx(9 + 1.5));
  // And afterwards, ordinary deltas again.
  auto next = tracker.update(scan_at(90, {entry(1, 5, 2.5)}, 40.0), 5);
  CHECK_FALSE(next.full_reset);
  CHECK(next.all[0].delta.calls == 2);
}

TEST_CASE("a shown statement absent for a scan after a reset resumes its counter, not from 0") {
  StatementTracker tracker;
  tracker.update(scan_at(0, {entry(1, 0, 0)}), 5);
  tracker.update(scan_at(30, {entry(1, 10, 1)}), 5);  // enters
  auto shown = tracker.update(scan_at(60, {entry(1, 20, 2)}), 5);
  REQUIRE(shown.top[0].exported.calls == 10);
  tracker.update(scan_at(90, {}, 80.0), 5);  // reset at 80; not called since
  auto back = tracker.update(scan_at(120, {entry(1, 4, 0.4)}, 80.0), 5);
  REQUIRE(back.top.size() == 1);
  CHECK(back.top[0].exported.calls == 10);  // it enters again: its 4 calls go to other
  auto next = tracker.update(scan_at(150, {entry(1, 9, 0.9)}, 80.0), 5);
  CHECK(next.top[0].exported.calls == 15);
}

TEST_CASE("without stats_reset (PostgreSQL 13), counters going down mean the entry started again") {
  StatementTracker tracker;
  tracker.update(scan_at(0, {entry(1, 1000, 500)}, std::nullopt, std::nullopt), 5);
  auto after = tracker.update(scan_at(30, {entry(1, 4, 2)}, std::nullopt, std::nullopt), 5);
  CHECK(after.entries_restarted == 1);
  REQUIRE(after.all.size() == 1);
  CHECK(after.all[0].delta.calls == 4);
  CHECK(after.all[0].delta.seconds == Approx(2));
  CHECK_FALSE(after.deallocations_delta.has_value());
}

TEST_CASE("a moved stats_since (PostgreSQL 17) is a recreated entry even with higher counters") {
  StatementTracker tracker;
  auto first = entry(1, 10, 5);
  first.stats_since = 100;
  tracker.update(scan_at(200, {first}), 5);
  auto again = entry(1, 25, 7);  // evicted, recreated at 210, 25 calls since
  again.stats_since = 210;
  auto after = tracker.update(scan_at(230, {again}), 5);
  CHECK(after.entries_restarted == 1);
  CHECK(after.all[0].delta.calls == 25);
}

TEST_CASE("an entry that is new since the last scan counts everything it has") {
  StatementTracker tracker;
  tracker.update(scan_at(0, {entry(1, 10, 1)}), 5);
  auto after = tracker.update(scan_at(30, {entry(1, 10, 1), entry(2, 7, 3)}), 5);
  REQUIRE(after.all.size() == 1);
  CHECK(after.all[0].key.queryid == 2);
  CHECK(after.all[0].delta.calls == 7);
}

TEST_CASE("deallocations are counted as deltas and survive a reset") {
  StatementTracker tracker;
  tracker.update(scan_at(0, {}, 1000.0, 7.0), 5);
  auto a = tracker.update(scan_at(30, {}, 1000.0, 10.0), 5);
  CHECK(a.deallocations_delta == 3);
  CHECK(a.deallocations_exported == 3);
  auto b = tracker.update(scan_at(60, {}, 2000.0, 1.0), 5);  // reset, one eviction since
  CHECK(b.deallocations_delta == 1);
  CHECK(b.deallocations_exported == 4);
}

TEST_CASE("after rebaseline() (a reconnect) the next scan is a baseline again") {
  StatementTracker tracker;
  tracker.update(scan_at(0, {entry(1, 10, 1)}), 5);
  tracker.update(scan_at(30, {entry(1, 20, 2)}), 5);
  tracker.rebaseline();
  auto after = tracker.update(scan_at(7200, {entry(1, 100000, 9000)}), 5);
  CHECK_FALSE(after.has_interval);
  CHECK(after.top.empty());
  CHECK(after.total_exported.seconds == Approx(1));  // the two hours' work is not a spike
}

TEST_CASE(
    "random churn, evictions and resets: every exported counter only grows, and the "
    "increases of the statements and other add up to the total's") {
  std::mt19937 random(42);
  StatementTracker tracker;
  std::map<std::int64_t, StatementRow> table;
  std::map<StatementKey, double> last_exported;
  double reset_at = 1, last_total = 0, last_other = 0;
  for (int poll = 0; poll < 300; ++poll) {
    double now = 100.0 + poll * 30;
    for (int work = 0; work < 40; ++work) {
      std::int64_t q = std::uniform_int_distribution<std::int64_t>(1, 60)(random);
      auto& row = table.try_emplace(q, entry(q, 0, 0)).first->second;
      double calls = std::uniform_int_distribution<int>(1, 50)(random);
      row.counters.calls += calls;
      row.counters.seconds += calls * std::uniform_real_distribution<double>(0.001, 0.5)(random);
      row.counters.rows += calls;
    }
    if (poll % 37 == 20) {  // evictions
      for (int i = 0; i < 10; ++i) table.erase(std::uniform_int_distribution<int>(1, 60)(random));
    }
    if (poll % 53 == 30) {  // pg_stat_statements_reset()
      table.clear();
      reset_at = now - 1;
    }
    std::vector<StatementRow> rows;
    for (const auto& [q, row] : table) rows.push_back(row);
    auto interval = tracker.update(scan_at(now, rows, reset_at), 8);
    CHECK(interval.total_exported.seconds >= last_total);
    CHECK(interval.other_exported.seconds >= last_other);
    double shown_increase = 0;
    for (const auto& e : interval.top) {
      auto previous = last_exported.find(e.key);
      if (previous != last_exported.end()) {
        CHECK(e.exported.seconds >= previous->second);
        shown_increase += e.exported.seconds - previous->second;
      }
    }
    for (const auto& e : interval.all) CHECK(e.delta.seconds >= 0);
    CHECK(shown_increase + (interval.other_exported.seconds - last_other) ==
          Approx(interval.total_exported.seconds - last_total).margin(1e-6));
    last_total = interval.total_exported.seconds;
    last_other = interval.other_exported.seconds;
    last_exported.clear();
    for (const auto& e : interval.top) last_exported[e.key] = e.exported.seconds;
  }
}
