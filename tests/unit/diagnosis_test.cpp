// The runbook over typed details, from the fixture of diagnosis_fixture.hpp.
#include <catch2/catch.hpp>

#include "diagnosis_fixture.hpp"
#include "exporter/status_page.hpp"

using namespace pgpulse::testing::diagnosis;

TEST_CASE("a healthy target passes every runbook step in order") {
  auto report = diagnose(healthy());
  CHECK(report.verdict == Severity::Ok);
  std::vector<std::string> order;
  for (const auto& s : report.steps) order.push_back(s.id);
  CHECK(order == std::vector<std::string>{"health", "connectivity", "connections", "idle",
                                          "queries_and_locks", "statements", "pools", "rls",
                                          "replication", "wraparound", "horizon", "monitoring"});
  CHECK(step(report, "rls").finding ==
        "RLS is in force on every tenant table judged in the 1 database(s) scanned");
  CHECK(step(report, "wraparound").finding ==
        "oldest database app: 20.0M transactions since it was last frozen, 0.93% of the way to "
        "wraparound");
  CHECK(step(report, "horizon").finding ==
        "nothing holds it back: VACUUM can remove every dead row");
  CHECK(step(report, "replication").finding == "0 standby(s), 0 slot(s)");
  CHECK(step(report, "connections").finding ==
        "10 of 97 usable slots in use (saturation 0.10); by application: web 9; by role: app 9");
  CHECK(exit_code_for({report}) == 0);
}

TEST_CASE("saturation thresholds: 0.8 warns and 0.95 is critical") {
  auto input = healthy();
  input.connections.saturation = 0.85;
  CHECK(step(diagnose(input), "connections").severity == Severity::Warning);
  input.connections.saturation = 0.96;
  auto report = diagnose(input);
  CHECK(step(report, "connections").severity == Severity::Critical);
  CHECK(step(report, "connections").action.find("pg_stat_activity") != std::string::npos);
  CHECK(exit_code_for({report}) == 2);
}

TEST_CASE("a database that does not answer is critical and the rest is skipped") {
  auto input = healthy();
  input.health.up = false;
  input.health.last_error_reason = "refused";
  input.health.last_error = "connection refused";
  auto report = diagnose(input);
  CHECK(step(report, "health").severity == Severity::Critical);
  CHECK(step(report, "connectivity").severity == Severity::Critical);
  CHECK(step(report, "rls").severity == Severity::Skipped);
  CHECK(report.verdict == Severity::Critical);
}

TEST_CASE(
    "a wrong monitoring password or role limit is pgpulse's problem: unknown, not an outage") {
  for (const auto* reason : {"auth_failed", "role_connection_limit"}) {
    auto input = healthy();
    input.health.up = false;
    input.health.last_error_reason = reason;
    auto report = diagnose(input);
    INFO(reason);
    CHECK(step(report, "health").severity == Severity::Warning);
    CHECK(step(report, "health").finding.rfind("unknown:", 0) == 0);
    CHECK(step(report, "connectivity").severity == Severity::Warning);
    CHECK(step(report, "connectivity").action.find("not an outage") != std::string::npos);
    CHECK(exit_code_for({report}) == 1);
  }
  auto full = healthy();  // the server itself refusing everyone is an outage for the apps
  full.health.up = false;
  full.health.last_error_reason = "too_many_connections";
  CHECK(step(diagnose(full), "connectivity").severity == Severity::Critical);
}

TEST_CASE("leaks, old idle transactions and the exhaustion forecast") {
  auto input = healthy();
  input.idle.leaks = {{"celery", 2.5, 0.97}};
  CHECK(step(diagnose(input), "idle").severity == Severity::Warning);
  CHECK(step(diagnose(input), "idle").finding.find("leak suspected in celery (+2.50") !=
        std::string::npos);
  CHECK(step(diagnose(input), "idle").action.find("does not return connections") !=
        std::string::npos);
  input.idle.exhaustion_eta_seconds = 1200.0;  // warning, as PostgresConnectionExhaustionForecast
  CHECK(step(diagnose(input), "idle").severity == Severity::Warning);
  // Growth without a leaking application is a budget problem, not a leak.
  auto growth = healthy();
  growth.idle.exhaustion_eta_seconds = 1200.0;
  auto growing = step(diagnose(growth), "idle");
  CHECK(growing.severity == Severity::Warning);
  CHECK(growing.action.find("does not return connections") == std::string::npos);
  CHECK(growing.action.find("pool budget") != std::string::npos);
  growth.idle.exhaustion_eta_seconds = 0.0;  // already full: the connections step says so
  CHECK(step(diagnose(growth), "idle").finding.find("runs out of slots") == std::string::npos);
  auto tx = healthy();
  tx.idle.oldest_idle_in_transaction = OldestSession{"app", 400.0, 7295, "celery", "worker"};
  auto stuck = step(diagnose(tx), "idle");
  CHECK(stuck.severity == Severity::Warning);
  CHECK(stuck.finding.find("oldest idle transaction 6m40s (database app, pid 7295, celery)") !=
        std::string::npos);
  CHECK(stuck.action.find("SELECT pg_terminate_backend(7295)") != std::string::npos);
  tx.idle.oldest_idle_in_transaction = OldestSession{"app", 2000.0, 7295, "celery", "worker"};
  CHECK(step(diagnose(tx), "idle").severity == Severity::Critical);
}

TEST_CASE("long queries and locks are judged as the shipped alert rules judge them") {
  auto input = healthy();
  input.queries.longest_query_seconds = 301.0;
  CHECK(step(diagnose(input), "queries_and_locks").severity == Severity::Warning);
  input.queries.longest_query_seconds = 1801.0;
  CHECK(step(diagnose(input), "queries_and_locks").severity == Severity::Critical);
  auto locks = healthy();
  locks.locks.blocked = 2;
  locks.locks.max_wait_seconds = 10.0;
  BlockingNode root;
  root.pid = 4242;
  locks.locks.blocking_tree = {root};
  auto s = step(diagnose(locks), "queries_and_locks");
  CHECK(s.severity == Severity::Ok);  // PostgresQueriesBlocked waits for 30 s of waiting
  CHECK(s.finding.find("2 backends blocked on locks for up to 10s, root blocker pid(s) 4242") !=
        std::string::npos);
  locks.locks.max_wait_seconds = 90.0;  // a long wait of two: the warning, as the rule
  CHECK(step(diagnose(locks), "queries_and_locks").severity == Severity::Warning);
  locks.locks.blocked = 12;  // the pile-up: critical
  CHECK(step(diagnose(locks), "queries_and_locks").severity == Severity::Critical);
}

namespace {

// Two reads of made-up pg_stat_statements rows 30 s apart, through the collector's functions.
StatementsDetails statements_of(std::vector<collectors::StatementRow> after,
                                std::optional<double> dealloc = 0.0) {
  collectors::StatementsScan before_scan, after_scan;
  before_scan.server_now = kNow - 30;
  after_scan.server_now = kNow;
  before_scan.dealloc = 0.0;
  after_scan.dealloc = dealloc;
  after_scan.max = 5000;
  after_scan.tracked = 4990;
  for (auto row : after) {
    after_scan.rows.push_back(row);
    row.counters = {};
    before_scan.rows.push_back(row);
  }
  collectors::StatementTracker tracker;
  tracker.update(before_scan, 20);
  auto interval = tracker.update(after_scan, 20);
  collectors::StatementTexts texts;
  for (const auto& row : after) {
    texts[row.key] = {"app", "web", "SELECT * FROM t" + std::to_string(row.key.queryid)};
  }
  return collectors::statement_details(after_scan, interval, texts, {});
}

collectors::StatementRow statement(std::int64_t queryid, double calls, double seconds,
                                   double rows = 0) {
  collectors::StatementRow r;
  r.key = {10, 5, queryid};
  r.counters.calls = calls;
  r.counters.seconds = seconds;
  r.counters.rows = rows;
  return r;
}

}  // namespace

TEST_CASE("statements: slow and large results warn, batch candidates and evictions are said") {
  auto input = healthy();
  auto s = step(diagnose(input), "statements");
  CHECK(s.severity == Severity::Skipped);
  CHECK(s.finding == "the statements collector is disabled");
  CollectorHealth c;
  c.name = "statements";
  c.applicable = false;
  c.not_applicable_reason = "pg_stat_statements is not installed in database \"app\"";
  input.health.collectors.push_back(c);
  CHECK(step(diagnose(input), "statements").finding ==
        "not applicable: pg_stat_statements is not installed in database \"app\"");

  input.statements = statements_of({statement(1, 300, 3), statement(2, 30, 0.3)});
  s = step(diagnose(input), "statements");
  CHECK(s.severity == Severity::Ok);
  CHECK(s.finding ==
        "330 calls in the last 30s, mean 10.0 ms; most time: app/web queryid 1 (SELECT * FROM "
        "t1), 91% of it, mean 10.0 ms");
  CHECK(s.action.empty());

  input.statements = statements_of({statement(1, 300, 3), statement(7, 4, 10)});
  s = step(diagnose(input), "statements");
  CHECK(s.severity == Severity::Warning);
  CHECK_THAT(s.finding, Catch::Contains("1 slow (mean over 1.00 s): app/web queryid 7 (SELECT "
                                        "* FROM t7) mean 2.50 s over 4 calls"));
  CHECK_THAT(s.action, Catch::Contains("EXPLAIN (ANALYZE, BUFFERS)"));

  input.statements = statements_of({statement(3, 2, 0.1, 40000)});
  s = step(diagnose(input), "statements");
  CHECK(s.severity == Severity::Warning);
  CHECK_THAT(s.finding, Catch::Contains("1 with large results (over 10000 rows per call): "
                                        "app/web queryid 3 (SELECT * FROM t3) 20000 rows per "
                                        "call"));

  input.statements = statements_of({statement(4, 30 * 400, 30 * 400 * 0.0005)}, 2.0);
  s = step(diagnose(input), "statements");
  CHECK(s.severity == Severity::Ok);
  CHECK_THAT(s.finding, Catch::Contains("1 batch candidate(s) (N+1): app/web queryid 4 (SELECT * "
                                        "FROM t4) 400 calls/s at 0.500 ms"));
  CHECK_THAT(s.finding, Catch::Contains("pg_stat_statements evicted entries 2 time(s) in the "
                                        "interval: history is being lost (4990 of 5000 entries"));
}

TEST_CASE("statements: the first read only takes the baseline, and says so") {
  auto input = healthy();
  StatementsDetails baseline;
  input.statements = baseline;
  auto s = step(diagnose(input), "statements");
  CHECK(s.severity == Severity::Skipped);
  CHECK_THAT(s.finding, Catch::Contains("only takes the baseline"));
}

TEST_CASE(
    "the trace id, route and link of the worst query, the root blocker and the idle "
    "transaction") {
  TraceContext trace;
  trace.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  trace.route = "/api/tickets";
  trace.url = "http://jaeger/trace/4bf92f3577b34da6a3ce929d0e0e4736";
  auto input = healthy();
  input.queries.longest_query_seconds = 400;
  Offender slow;
  slow.pid = 7;
  slow.application_name = "web";
  slow.usename = "app";
  slow.query = "SELECT ?";
  slow.trace = trace;
  Offender idle;
  idle.pid = 8;
  idle.state = "idle in transaction";
  idle.transaction_seconds = 500;
  idle.trace.route = "/api/checkout";
  input.queries.offenders = {slow, idle};
  auto q = step(diagnose(input), "queries_and_locks");
  CHECK_THAT(q.finding, Catch::Contains("worst: pid 7 (web, app): SELECT ? (trace "
                                        "4bf92f3577b34da6a3ce929d0e0e4736, route /api/tickets, "
                                        "http://jaeger/trace/4bf92f3577b34da6a3ce929d0e0e4736)"));
  input.idle.oldest_idle_in_transaction = OldestSession{"app", 500.0, 8, "web", "app"};
  CHECK_THAT(step(diagnose(input), "idle").finding,
             Catch::Contains("oldest idle transaction 8m20s (database app, pid 8, web) (route "
                             "/api/checkout)"));
  input.locks.blocked = 1;
  BlockingNode root;
  root.pid = 4242;
  root.trace = trace;
  input.locks.blocking_tree = {root};
  CHECK_THAT(step(diagnose(input), "queries_and_locks").finding,
             Catch::Contains("root blocker pid(s) 4242 (trace 4bf92f3577b34da6a3ce929d0e0e4736"));
}

TEST_CASE("pool budgets and RLS findings") {
  auto input = healthy();
  PoolUsage web;
  web.name = "web";
  web.budget = 10;
  web.connections = 12;
  web.utilization = 1.2;
  input.pools = PoolsDetails{{web}, 1.3, 97};
  auto pools = step(diagnose(input), "pools");
  CHECK(pools.severity == Severity::Warning);
  CHECK(pools.finding.find("web holds 12 connections, over its budget of 10") != std::string::npos);
  input.rls.unprotected_tenant_tables = {{"app", "public", "invoices", "unprotected"}};
  input.rls.databases[0].tenant_settings = {"app.current_tenant_id"};
  auto rls = step(diagnose(input), "rls");
  CHECK(rls.severity == Severity::Critical);
  CHECK(rls.finding == "1 tenant table(s) without RLS in force: app:public.invoices (unprotected)");
  // The advice names the setting this database's policies use.
  CHECK(rls.action.find("current_setting('app.current_tenant_id')") != std::string::npos);
  CHECK(rls.action.find("public.invoices") != std::string::npos);
  input.rls.unprotected_tenant_tables.clear();
  input.rls.bypass_roles.push_back({"etl", "bypassrls", false});
  CHECK(step(diagnose(input), "rls").severity == Severity::Warning);
}

TEST_CASE("a role limit below 5 is a deliberate cap, judged as the shipped rule judges it") {
  auto input = healthy();
  input.connections.role_limits = {{"pgpulse", 3, 3, 1.0}};
  CHECK(step(diagnose(input), "connections").severity == Severity::Ok);
  input.connections.role_limits = {{"app", 20, 19, 0.95}};
  auto s = step(diagnose(input), "connections");
  CHECK(s.severity == Severity::Warning);
  CHECK(s.finding.find("role app at 19/20 of its connection limit") != std::string::npos);
}

TEST_CASE("one replica at its pool limit is a finding even when the summed budget fits") {
  auto input = healthy();
  PoolUsage api;
  api.name = "api";
  api.budget = 30;  // 3 replicas x (5 + 5)
  api.connections = 14;
  api.utilization = 14.0 / 30;
  api.per_replica_budget = 10;
  api.replicas_seen = 3;
  api.replicas_at_limit = 1;
  api.replica_max_utilization = 1.0;
  api.fullest_replica = "127.0.0.3";
  api.fullest_replica_connections = 10;
  input.pools = PoolsDetails{{api}, 0.3, 97};
  auto pools = step(diagnose(input), "pools");
  CHECK(pools.severity == Severity::Warning);
  CHECK(pools.finding.find("1 replica(s) of api at their own pool limit") != std::string::npos);
  CHECK(pools.finding.find("127.0.0.3 holds 10") != std::string::npos);
}

TEST_CASE("RLS: a database that cannot be scanned makes the verdict unknown, never all-clear") {
  auto input = healthy();
  DatabaseScan locked_out;
  locked_out.datname = "locked_out";
  locked_out.error = "permission denied for database";
  input.rls.databases.push_back(locked_out);
  auto rls = step(diagnose(input), "rls");
  CHECK(rls.severity == Severity::Warning);
  CHECK(rls.finding.find("unknown for locked_out: permission denied") != std::string::npos);
  CHECK(rls.finding.find("in force on every tenant table") == std::string::npos);
  CHECK(exit_code_for({diagnose(input)}) == 1);
}

TEST_CASE("RLS: a removed policy is a finding naming table and policy for the drift window") {
  auto input = healthy();
  input.rls.recent_policy_changes = {
      {"app", "public", "tickets", "tenant_isolation", "removed", kNow - 120}};
  auto in = input.input();
  in.now_unix = kNow;
  auto rls = step(pgpulse::analysis::diagnose(in), "rls");
  CHECK(rls.severity == Severity::Warning);
  CHECK(rls.finding.find("policy \"tenant_isolation\" on app:public.tickets removed 2m0s ago") !=
        std::string::npos);
}

TEST_CASE("RLS not in use in a database is information; a superuser pgpulse changes no verdict") {
  auto input = healthy();
  DatabaseScan quiet;
  quiet.datname = "quiet";
  quiet.ok = true;
  quiet.judged = false;
  quiet.tenant_tables = 3;
  input.rls.databases.push_back(quiet);
  input.rls.monitoring_role_superuser = true;
  auto report = diagnose(input);
  CHECK(report.verdict == Severity::Ok);
  CHECK(exit_code_for({report}) == 0);
  CHECK(step(report, "rls").finding.find("RLS not in use in database(s) quiet") !=
        std::string::npos);
  CHECK(step(report, "monitoring").severity == Severity::Info);
  CHECK(report_text({report}, false).find("[INFO] 12. How pgpulse connects: as a superuser") !=
        std::string::npos);
}

TEST_CASE("the status page escapes database strings and draws a sparkline") {
  using pgpulse::exporter::html_escape;
  CHECK(html_escape("<script>alert('x')</script> & \"q\"") ==
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  auto svg = pgpulse::exporter::sparkline_svg({{0, 0}, {10, 50}, {20, 100}}, 100);
  CHECK(svg.find("points=\"0.0,39.0 120.0,20.0 240.0,1.0 \"") != std::string::npos);
  CHECK(pgpulse::exporter::sparkline_svg({}, 100).find("polyline") == std::string::npos);
}

TEST_CASE("wraparound: 50% of the way warns, 75% is critical, multixacts count too") {
  auto input = healthy();
  input.database.xid_wraparound_ratio = 0.49;
  CHECK(step(diagnose(input), "wraparound").severity == Severity::Ok);
  input.database.xid_wraparound_ratio = 0.5;
  CHECK(step(diagnose(input), "wraparound").severity == Severity::Warning);
  input.database.mxid_wraparound_ratio = 0.8;
  input.database.oldest = {{"billing", 1000, 1'717'986'918}};
  auto wraparound = step(diagnose(input), "wraparound");
  CHECK(wraparound.severity == Severity::Critical);
  CHECK(wraparound.finding.find("oldest database billing: 1.7G multixacts") == 0);
  CHECK(wraparound.action.find("In database billing: VACUUM (FREEZE, VERBOSE)") == 0);
  CHECK(diagnose(input).verdict == Severity::Critical);
}

TEST_CASE("horizon: the oldest holder is named, and the worst decides the action") {
  auto input = healthy();
  HorizonHolder idle{"idle_in_transaction", "celery", 4242, "app", "worker", 1'200'000, 7200};
  HorizonHolder slot{"replication_slot", "old_standby", 0, "", "", 60'000'000, std::nullopt};
  input.horizon.holders = {slot, idle};
  auto horizon = step(diagnose(input), "horizon");
  CHECK(horizon.severity == Severity::Warning);
  CHECK(horizon.finding ==
        "oldest: replication slot old_standby holds it 60.0M transactions back; "
        "idle_in_transaction 1.2M");
  CHECK(horizon.action.find("pg_drop_replication_slot('old_standby')") != std::string::npos);
  input.horizon.holders = {idle};  // an hour-old idle transaction warns on its own
  horizon = step(diagnose(input), "horizon");
  CHECK(horizon.severity == Severity::Warning);
  CHECK(horizon.finding ==
        "oldest: idle transaction pid 4242 (celery, worker@app) holds it 1.2M transactions back "
        "for 2h0m");
  CHECK(horizon.action.find("pg_terminate_backend(4242)") != std::string::npos);
  input.horizon.holders = {{"prepared_transaction", "tx-9", 0, "app", "", 160'000'000, 60}};
  horizon = step(diagnose(input), "horizon");
  CHECK(horizon.severity == Severity::Critical);
  CHECK(horizon.action.find("ROLLBACK PREPARED 'tx-9'") != std::string::npos);
}

TEST_CASE("replication on a primary: lagging standbys and inactive slots retaining WAL") {
  auto input = healthy();
  StandbyLag lagging{"replica1", "10.0.0.5", "streaming", "async", 1, 2, 120, 5000};
  input.replication.standbys = {lagging};
  auto replication = step(diagnose(input), "replication");
  CHECK(replication.severity == Severity::Warning);
  CHECK(replication.finding == "1 standby(s), 0 slot(s); replica1 (10.0.0.5) replays 2m0s behind");
  input.replication.standbys.clear();
  input.replication.slots = {{"gone", "physical", false, 2LL << 30, "extended"},
                             {"live", "physical", true, 5LL << 30, "extended"}};
  replication = step(diagnose(input), "replication");
  CHECK(replication.severity == Severity::Warning);
  CHECK(replication.finding.find("inactive slot gone retains 2.1GB of WAL (extended)") !=
        std::string::npos);
  CHECK(replication.finding.find("live") == std::string::npos);
  input.replication.slots[0].wal_status = "lost";
  CHECK(step(diagnose(input), "replication").severity == Severity::Critical);
}

TEST_CASE("replication on a standby: not streaming is critical, idle is healthy") {
  auto input = healthy();
  collectors::StandbyRow idle;
  idle.received = idle.replayed = 100;
  idle.last_replay = kNow - 86400;
  idle.now = kNow;
  idle.receiver_status = "streaming";
  input.standby = collectors::summarize_standby(idle);
  auto replication = step(diagnose(input), "replication");
  CHECK(replication.severity == Severity::Ok);
  CHECK(replication.finding == "standby; WAL receiver streaming, replay lag 0s (0B to replay)");
  input.standby->wal_receiver_status = "stopped";
  CHECK(step(diagnose(input), "replication").severity == Severity::Critical);
}

TEST_CASE("settings waiting for a restart are named in the health step") {
  auto input = healthy();
  auto in = input.input();
  in.target.add("settings", SettingsDetails{kNow - 60, {"max_connections", "shared_buffers"}});
  auto health = step(pgpulse::analysis::diagnose(in), "health");
  CHECK(health.severity == Severity::Ok);
  CHECK(health.finding ==
        "PostgreSQL 15.20 answers (server_version_num 150020); 2 setting(s) changed but waiting "
        "for a "
        "restart: max_connections, shared_buffers");
}
