// Pure functions over made-up pg_stat_activity rows: idle counts and trends, long queries,
// lock blocking, pool budgets.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>

#include "collectors/idle_trend.hpp"
#include "collectors/locks.hpp"
#include "collectors/long_queries.hpp"
#include "collectors/pools.hpp"
#include "collectors/query_text.hpp"

using namespace pgpulse::collectors;
using namespace std::chrono_literals;

namespace {

constexpr double kNow = 1'800'000'000;

ActivityRow row(int pid, std::string app, std::string state, double state_age = 0,
                std::string db = "app", std::string user = "web") {
  ActivityRow r;
  r.pid = pid;
  r.application_name = std::move(app);
  r.state = std::move(state);
  r.datname = std::move(db);
  r.usename = std::move(user);
  r.backend_type = "client backend";
  r.state_change = kNow - state_age;
  r.query_start = r.state == "active" ? kNow - state_age : kNow - state_age - 1;
  r.xact_start = r.state == "idle" ? std::nan("") : kNow - state_age - 2;
  r.backend_start = kNow - 3600;
  r.query = "SELECT * FROM orders WHERE email = 'alice@example.com' AND id = 42";
  return r;
}

ActivitySample sample_of(std::vector<ActivityRow> rows, double now = kNow) {
  ActivitySample s;
  s.server_now = now;
  s.server_started = kNow - 86400;
  s.rows = std::move(rows);
  return s;
}

}  // namespace

TEST_CASE("idle counts and ages by application, role and database") {
  auto s = sample_of({row(1, "web", "idle", 30), row(2, "web", "idle", 300),
                      row(3, "celery", "idle in transaction", 45, "jobs", "worker"),
                      row(4, "celery", "idle in transaction (aborted)", 90, "jobs", "worker"),
                      row(5, "web", "active", 2), row(6, "pgpulse", "idle", 999)});
  s.rows.back().is_self = true;
  auto c = count_idle(s, 50);
  CHECK(c.idle.at({"web", "web"}) == 2);
  CHECK(c.idle_in_transaction.at({"celery", "worker"}) == 2);
  CHECK(c.idle_max_age.at("web") == 300);
  CHECK(c.idle_in_transaction_max_age.at({"jobs", "celery"}) == 90);
  REQUIRE(c.oldest_idle_in_transaction.has_value());  // who to end, by pid
  CHECK(c.oldest_idle_in_transaction->pid == 4);
  CHECK(c.oldest_idle_in_transaction->application_name == "celery");
  CHECK(c.oldest_idle_in_transaction->seconds == 90);
  CHECK(c.oldest_idle->pid == 2);
  CHECK(c.idle_by_application.at("web") == 2);
  CHECK(c.idle_by_application.at("celery") == 2);
  CHECK(c.idle_max_age.count("pgpulse") == 0);
  CHECK(c.client_backends == 6);
}

TEST_CASE("the idle trend flags only the application that keeps leaking") {
  IdleTrendState state;
  LeakRule rule{20s, 3, 0.8};  // 20 s window, 3 per minute, as the integration test uses
  IdleTrendReport report;
  for (int tick = 0; tick <= 20; ++tick) {
    std::vector<ActivityRow> rows;
    for (int i = 0; i < 5; ++i) rows.push_back(row(100 + i, "steady", "idle", 10));
    for (int i = 0; i < tick / 2; ++i) rows.push_back(row(200 + i, "leaky", "idle", 1));
    report =
        update_idle_trend(state, sample_of(rows, kNow + tick), ServerLimits{100, 3, 0}, rule, 50);
  }
  CHECK(report.verdicts.at("leaky").suspected);
  CHECK(report.verdicts.at("leaky").growth_per_minute == Approx(30).margin(1));
  CHECK_FALSE(report.verdicts.at("steady").suspected);
  CHECK(report.verdicts.at("steady").growth_per_minute == Approx(0).margin(1e-9));
  REQUIRE(report.exhaustion_eta_seconds.has_value());
  // 15 backends growing by 0.5/s towards 97 usable slots
  CHECK(*report.exhaustion_eta_seconds == Approx((97.0 - 15) / 0.5).epsilon(0.05));
  auto families = idle_trend_families(report);
  bool has_eta = false;
  for (const auto& f : families) has_eta |= f.name == "pgpulse_connection_exhaustion_eta_seconds";
  CHECK(has_eta);
}

TEST_CASE("a server restart empties the trend windows") {
  IdleTrendState state;
  LeakRule rule{20s, 3, 0.8};
  for (int tick = 0; tick <= 20; ++tick) {
    std::vector<ActivityRow> rows;
    for (int i = 0; i < tick; ++i) rows.push_back(row(200 + i, "leaky", "idle", 1));
    update_idle_trend(state, sample_of(rows, kNow + tick), ServerLimits{100, 3, 0}, rule, 50);
  }
  auto restarted = sample_of({row(1, "leaky", "idle", 1)}, kNow + 21);
  restarted.server_started = kNow + 20;
  auto report = update_idle_trend(state, restarted, ServerLimits{100, 3, 0}, rule, 50);
  CHECK(state.by_application.at("leaky").points().size() == 1);
  CHECK_FALSE(report.verdicts.at("leaky").suspected);
}

TEST_CASE("applications whose idle count stayed zero for a whole window are forgotten") {
  IdleTrendState state;
  LeakRule rule{5s, 3, 0.8};
  update_idle_trend(state, sample_of({row(1, "gone", "idle")}, kNow), ServerLimits{100, 3, 0}, rule,
                    50);
  for (int t = 1; t <= 7; ++t) {
    update_idle_trend(state, sample_of({}, kNow + t), ServerLimits{100, 3, 0}, rule, 50);
  }
  CHECK(state.by_application.count("gone") == 0);
}

TEST_CASE("the trend keeps a bounded number of application windows however names churn") {
  IdleTrendState state;
  LeakRule rule{600s, 3, 0.8};
  for (int t = 0; t < 200; ++t) {  // a new application name every poll
    update_idle_trend(state, sample_of({row(t, "job-" + std::to_string(t), "idle")}, kNow + t),
                      ServerLimits{100, 3, 0}, rule, 5);
  }
  CHECK(state.by_application.size() <= 21);
  CHECK(state.by_application.count("job-199") == 1);  // the current one is always kept
}

TEST_CASE("long queries and transactions per database with threshold counts") {
  auto s = sample_of({row(1, "web", "active", 400), row(2, "web", "active", 40),
                      row(3, "web", "active", 1, "other_db"),
                      row(4, "batch", "idle in transaction", 600)});
  pgpulse::config::ActivityConfig options;
  options.top_n = 2;
  auto summary = summarize_long_queries(s, options, 50);
  CHECK(summary.longest_query.at({"app", "web"}) == 400);
  CHECK(summary.longest_query.at({"app", "batch"}) == 0);
  CHECK(summary.longest_query.at({"other_db", "web"}) == 1);
  CHECK(summary.longest_transaction.at({"app", "batch"}) == 602);
  CHECK(summary.over_threshold.at({"app", 30}) == 2);
  CHECK(summary.over_threshold.at({"app", 300}) == 1);
  CHECK(summary.over_threshold.at({"other_db", 30}) == 0);
  REQUIRE(summary.top.size() == 2);
  CHECK(summary.top[0].pid == 4);  // the 10-minute transaction first
  CHECK(summary.top[1].pid == 1);
  CHECK(summary.top[1].query == "SELECT * FROM orders WHERE email = ? AND id = ?");
  CHECK(summary.top[0].idle_seconds == 600);  // idle in transaction since its last statement
  CHECK(summary.top[1].idle_seconds == 0);    // running, not idle
  auto details = long_query_details(summary, options);
  CHECK(details.longest_query_seconds == 400);
  CHECK(details.longest_transaction_seconds == 602);
  CHECK(details.over_threshold.at("30") == 2);
  CHECK(details.thresholds_seconds == std::vector<double>{30, 300});
  nlohmann::json json = details;
  CHECK(json["offenders"][1]["query_seconds"] == 400);
  CHECK(json.dump().find("alice@example.com") == std::string::npos);
}

TEST_CASE("query text is normalised so data never reaches /activity") {
  CHECK(normalize_query("select  *\n from t where a = 'x''y' and b=12.5", 200) ==
        "select * from t where a = ? and b=?");
  CHECK(normalize_query("SELECT E'it\\'s', $$body$$, $tag$ x $tag$, t1.c2 FROM \"Tab 1\"", 200) ==
        "SELECT ?, ?, ?, t1.c2 FROM \"Tab 1\"");
  CHECK(normalize_query("insert into t values ($1, $2)", 200) == "insert into t values ($1, $2)");
  CHECK(normalize_query(std::string(300, 'x'), 10) == "xxxxxxxxxx...");
  auto cut = normalize_query("select '\xC3\xA9' , \xC3\xA9\xC3\xA9\xC3\xA9", 14);
  CHECK(cut == "select ? , \xC3\xA9...");
  CHECK(normalize_query("select 'unterminated", 200) == "select ?");
  // Comment bodies never reach /activity: secrets and trace context live there.
  CHECK(normalize_query("/* api_key=sk_live_123 */ SELECT 1 -- token abc\nFROM t", 200) ==
        "/* ? */ SELECT ? -- ? FROM t");
  CHECK(normalize_query("SELECT /* a /* nested */ still comment */ x", 200) == "SELECT /* ? */ x");
  CHECK(normalize_query("SELECT 1 /* unterminated secret", 200) == "SELECT ? /* ? */");
  CHECK(normalize_query("SELECT 10-5, a - -1", 200) == "SELECT ?-?, a - -?");
}

TEST_CASE("lock blocking: one root holding two waiters") {
  auto holder = row(10, "migrate", "idle in transaction", 120);
  auto w1 = row(11, "web", "active", 30);
  w1.wait_event_type = "Lock";
  w1.blocked_by = {10};
  auto w2 = row(12, "web", "active", 20);
  w2.wait_event_type = "Lock";
  w2.blocked_by = {10};
  auto summary = summarize_locks(sample_of({holder, w1, w2}), {{11, kNow - 25}}, 50, 100);
  CHECK(summary.blocked.at("app") == 2);
  CHECK(summary.details.blocked == 2);
  CHECK(summary.details.root_blockers == 1);
  CHECK(summary.details.max_depth == 1);
  CHECK(summary.details.max_wait_seconds == 25);  // waitstart of pid 11 wins over pid 12's 20 s
  REQUIRE(summary.details.blocking_tree.size() == 1);
  CHECK(summary.details.blocking_tree[0].pid == 10);
  CHECK(summary.details.blocking_tree[0].waiting.size() == 2);
}

TEST_CASE("offenders and lock holders carry their sqlcommenter trace, linked, text normalised") {
  const std::string comment =
      "/*route='%2Fapi%2Fx',traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*"
      "/";
  auto holder = row(10, "migrate", "idle in transaction", 120);
  holder.query = "UPDATE orders SET paid = true WHERE id = 7 " + comment;
  auto waiter = row(11, "web", "active", 30);
  waiter.wait_event_type = "Lock";
  waiter.blocked_by = {10};
  waiter.query = "SELECT 1 /*route='/y',traceparent='broken'*/";
  auto sample = sample_of({holder, waiter});
  pgpulse::config::ActivityConfig options;
  const std::string url = "http://jaeger/trace/{trace_id}";
  auto queries = summarize_long_queries(sample, options, 50, url);
  REQUIRE(queries.top.size() == 2);
  const auto& o = queries.top[0];
  CHECK(o.pid == 10);
  CHECK(o.trace.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(o.trace.route == "/api/x");
  CHECK(o.trace.url == "http://jaeger/trace/4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(o.query == "UPDATE orders SET paid = true WHERE id = ? /* ? */");
  CHECK(queries.top[1].trace.trace_id.empty());  // an invalid traceparent: no id ...
  CHECK(queries.top[1].trace.route == "/y");     // ... the route stays
  auto locks = summarize_locks(sample, {}, 50, 100, url);
  REQUIRE(locks.details.blocking_tree.size() == 1);
  const auto& root = locks.details.blocking_tree[0];
  CHECK(root.trace.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(root.trace.url == "http://jaeger/trace/4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(root.query == "UPDATE orders SET paid = true WHERE id = ? /* ? */");
  CHECK(root.waiting.at(0).trace.route == "/y");
  // Without a template: the ids, no link.
  CHECK(summarize_long_queries(sample, options, 50).top[0].trace.url.empty());
  nlohmann::json json = locks.details;
  CHECK(json["blocking_tree"][0]["trace"]["route"] == "/api/x");
}

TEST_CASE("without waitstart (PostgreSQL 13) the wait is measured from state_change") {
  auto holder = row(10, "migrate", "idle in transaction", 120);
  auto waiter = row(11, "web", "active", 30);
  waiter.blocked_by = {10};
  auto summary = summarize_locks(sample_of({holder, waiter}), {}, 50, 100);
  CHECK(summary.details.max_wait_seconds == 30);
  CHECK(summary.details.blocked == 1);
}

TEST_CASE("a backend waiting on two blockers is placed once in the tree and the depth") {
  // 2 and 3 both hold locks 4 waits for; 3 also waits on 2. 4 must appear once (before the fix it
  // was listed under 2 and under 3).
  auto a = row(2, "x", "idle in transaction");
  auto b = row(3, "x", "active");
  b.blocked_by = {2};
  auto c = row(4, "x", "active");
  c.blocked_by = {2, 3};
  auto summary = summarize_locks(sample_of({a, b, c}), {}, 50, 100);
  std::map<int, int> seen;
  std::function<void(const pgpulse::core::BlockingNode&)> walk =
      [&](const pgpulse::core::BlockingNode& n) {
        ++seen[n.pid];
        for (const auto& w : n.waiting) walk(w);
      };
  for (const auto& root : summary.details.blocking_tree) walk(root);
  CHECK(seen == std::map<int, int>{{2, 1}, {3, 1}, {4, 1}});
  CHECK(summary.details.root_blockers == 1);
  CHECK(summary.details.max_depth == 2);  // the longest chain: 4 -> 3 -> 2
}

TEST_CASE("lock chains report their depth and survive a deadlock cycle") {
  auto a = row(1, "x", "idle in transaction");
  auto b = row(2, "x", "active");
  b.blocked_by = {1};
  auto c = row(3, "x", "active");
  c.blocked_by = {2};
  auto d = row(4, "x", "active");
  d.blocked_by = {3};
  auto chain = summarize_locks(sample_of({a, b, c, d}), {}, 50, 100);
  CHECK(chain.details.root_blockers == 1);
  CHECK(chain.details.max_depth == 3);
  CHECK(chain.details.blocking_tree[0].waiting[0].waiting[0].waiting[0].pid == 4);

  auto x = row(5, "x", "active");
  x.blocked_by = {6};
  auto y = row(6, "x", "active");
  y.blocked_by = {5};
  auto cycle = summarize_locks(sample_of({x, y}), {}, 50, 100);
  CHECK(cycle.details.root_blockers == 0);
  CHECK(cycle.blocked.at("app") == 2);

  auto nobody = summarize_locks(sample_of({row(7, "x", "idle")}), {}, 50, 100);
  CHECK(nobody.blocked.empty());
  CHECK(nobody.details.max_wait_seconds == 0);
  CHECK(nobody.details.max_depth == 0);
}

TEST_CASE("pool budgets, utilization and overcommit") {
  std::vector<pgpulse::config::PoolConfig> pools(2);
  pools[0].name = pools[0].application_name = "web";
  pools[0].replicas = 4;
  pools[0].pool_size = 5;
  pools[0].max_overflow = 10;  // budget 60
  pools[1].name = pools[1].usename = "worker";
  pools[1].replicas = 10;
  pools[1].pool_size = 3;
  pools[1].max_overflow = 0;  // budget 30
  std::vector<ActivityRow> rows;
  for (int i = 0; i < 15; ++i) rows.push_back(row(i, "web", i % 2 ? "idle" : "active"));
  for (int i = 0; i < 33; ++i) rows.push_back(row(100 + i, "celery", "idle", 0, "app", "worker"));
  auto summary = summarize_pools(sample_of(rows), pools, ServerLimits{100, 3, 7});
  CHECK(summary.pools[0].budget == 60);
  CHECK(summary.pools[0].connections == 15);
  CHECK(summary.pools[0].utilization == 0.25);
  CHECK(summary.pools[1].connections == 33);
  CHECK(summary.pools[1].utilization == 1.1);
  CHECK(summary.overcommit == Approx(90.0 / 90.0));
  CHECK(pool_families(pgpulse::core::PoolsDetails{}).empty());
}
