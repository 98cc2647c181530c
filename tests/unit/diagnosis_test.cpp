// The runbook over typed details. The healthy fixture is built by the collectors' own pure
// functions from made-up pg_stat_activity rows, so a renamed or retyped field breaks this build
// and a changed meaning breaks these checks.
#include <catch2/catch.hpp>

#include <optional>

#include "analysis/diagnosis.hpp"
#include "collectors/connections.hpp"
#include "collectors/database_stats.hpp"
#include "collectors/horizon.hpp"
#include "collectors/idle_trend.hpp"
#include "collectors/locks.hpp"
#include "collectors/long_queries.hpp"
#include "collectors/pools.hpp"
#include "collectors/replication.hpp"
#include "collectors/rls_report.hpp"
#include "collectors/settings.hpp"
#include "collectors/standby.hpp"
#include "exporter/status_page.hpp"

using namespace pgpulse::analysis;
using namespace pgpulse::core;
namespace collectors = pgpulse::collectors;

namespace {

constexpr double kNow = 1'800'000'000;

collectors::ActivityRow client(int pid, std::string app, std::string user, std::string state) {
  collectors::ActivityRow row;
  row.pid = pid;
  row.application_name = std::move(app);
  row.usename = std::move(user);
  row.datname = "app";
  row.state = std::move(state);
  row.backend_type = "client backend";
  row.state_change = row.query_start = kNow - 1;
  row.xact_start = row.state == "active" ? kNow - 2 : std::nan("");
  row.query = "SELECT 1";
  return row;
}

// Every collector's details, typed; input() hands them to the analysis as the daemon would.
struct Fixture {
  TargetHealth health;
  ConnectionsDetails connections;
  IdleTrendDetails idle;
  LongQueriesDetails queries;
  LocksDetails locks;
  std::optional<PoolsDetails> pools;
  RlsDetails rls;
  DatabaseDetails database;
  HorizonDetails horizon;
  ReplicationDetails replication;
  std::optional<StandbyDetails> standby;  // set: the target is a standby (no replication)

  DiagnosisInput input() const {
    DiagnosisInput in;
    in.target.target = health.target;
    in.target.health = health;
    in.target.add("connections", connections);
    in.target.add("idle_trend", idle);
    in.target.add("long_queries", queries);
    in.target.add("locks", locks);
    if (pools) in.target.add("pools", *pools);
    in.target.add("rls", rls);
    in.target.add("database", database);
    in.target.add("horizon", horizon);
    if (standby) {
      in.target.add("standby", *standby);
    } else {
      in.target.add("replication", replication);
    }
    return in;
  }
};

Fixture healthy() {
  collectors::ActivitySample sample;
  sample.server_now = kNow;
  sample.server_started = kNow - 86400;
  for (int i = 0; i < 9; ++i)
    sample.rows.push_back(client(i + 1, "web", "app", i % 3 ? "idle" : "active"));
  auto self = client(99, "pgpulse", "pgpulse", "active");
  self.is_self = true;
  sample.rows.push_back(self);
  collectors::ServerLimits limits{100, 3, 0};
  pgpulse::config::ActivityConfig activity;

  Fixture f;
  f.health.target = "main";
  f.health.up = f.health.connected_once = true;
  f.health.server_version = 150020;
  f.connections =
      collectors::connections_details(collectors::summarize_connections(sample, limits, {}, 50));
  collectors::IdleTrendState state;
  auto report = collectors::update_idle_trend(state, sample, limits, {}, 50);
  f.idle = collectors::idle_trend_details(report, state, limits);
  f.queries = collectors::long_query_details(
      collectors::summarize_long_queries(sample, activity, 50), activity);
  f.locks = collectors::summarize_locks(sample, {}, 50, 200).details;
  collectors::ClusterScan scan;
  scan.bypass_roles = {{"postgres", "superuser"}};
  collectors::DatabaseScanResult app;
  app.datname = "app";
  app.ok = true;
  scan.databases.push_back(app);
  auto output = collectors::rls_report(scan, pgpulse::config::RlsConfig{}, 50);
  f.rls = *details_as<RlsDetails>(output.details.get());
  collectors::DatabaseRow app_db;
  app_db.datname = "app";
  app_db.xid_age = 20'000'000;
  f.database = collectors::database_details({app_db});
  f.horizon = collectors::summarize_horizon(sample, {});
  f.replication = collectors::replication_details({});
  return f;
}

TargetReport diagnose(const Fixture& f) {
  return pgpulse::analysis::diagnose(f.input());
}

const DiagnosisStep& step(const TargetReport& report, const std::string& id) {
  for (const auto& s : report.steps) {
    if (s.id == id) return s;
  }
  FAIL("no step " << id);
  throw;
}

}  // namespace

TEST_CASE("a healthy target passes every runbook step in order") {
  auto report = diagnose(healthy());
  CHECK(report.verdict == Severity::Ok);
  std::vector<std::string> order;
  for (const auto& s : report.steps) order.push_back(s.id);
  CHECK(order == std::vector<std::string>{"health", "connectivity", "connections", "idle",
                                          "queries_and_locks", "pools", "rls", "replication",
                                          "wraparound", "horizon"});
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

TEST_CASE("a wrong password: the server is up but we cannot connect") {
  auto input = healthy();
  input.health.up = false;
  input.health.last_error_reason = "auth_failed";
  auto report = diagnose(input);
  CHECK(step(report, "health").severity == Severity::Ok);
  CHECK(step(report, "connectivity").severity == Severity::Critical);
  CHECK(step(report, "connectivity").action.find("pg_hba.conf") != std::string::npos);
}

TEST_CASE("leaks, old idle transactions and the exhaustion forecast") {
  auto input = healthy();
  input.idle.leaks = {{"celery", 2.5, 0.97}};
  CHECK(step(diagnose(input), "idle").severity == Severity::Warning);
  CHECK(step(diagnose(input), "idle").finding.find("leak suspected in celery (+2.50") !=
        std::string::npos);
  input.idle.exhaustion_eta_seconds = 1200.0;
  CHECK(step(diagnose(input), "idle").severity == Severity::Critical);
  auto tx = healthy();
  tx.idle.oldest_idle_in_transaction = OldestSession{"app", 400.0};
  CHECK(step(diagnose(tx), "idle").severity == Severity::Warning);
}

TEST_CASE("long queries follow the largest configured threshold and locks escalate with the wait") {
  auto input = healthy();
  input.queries.longest_query_seconds = 301.0;
  CHECK(step(diagnose(input), "queries_and_locks").severity == Severity::Warning);
  input.queries.thresholds_seconds = {5, 600};
  CHECK(step(diagnose(input), "queries_and_locks").severity == Severity::Ok);
  auto locks = healthy();
  locks.locks.blocked = 2;
  locks.locks.max_wait_seconds = 10.0;
  BlockingNode root;
  root.pid = 4242;
  locks.locks.blocking_tree = {root};
  auto s = step(diagnose(locks), "queries_and_locks");
  CHECK(s.severity == Severity::Warning);
  CHECK(s.finding.find("2 backends blocked on locks for up to 10s, root blocker pid(s) 4242") !=
        std::string::npos);
  locks.locks.max_wait_seconds = 90.0;
  CHECK(step(diagnose(locks), "queries_and_locks").severity == Severity::Critical);
}

TEST_CASE("pool budgets and RLS findings") {
  auto input = healthy();
  input.pools = PoolsDetails{{{"web", 10, 12, 1.2}}, 1.3, 97};
  auto pools = step(diagnose(input), "pools");
  CHECK(pools.severity == Severity::Warning);
  CHECK(pools.finding.find("web holds 12 connections, over its budget of 10") != std::string::npos);
  input.rls.unprotected_tenant_tables = {{"app", "public", "invoices", "unprotected"}};
  auto rls = step(diagnose(input), "rls");
  CHECK(rls.severity == Severity::Critical);
  CHECK(rls.finding == "1 tenant table(s) without RLS in force: app:public.invoices (unprotected)");
  input.rls.unprotected_tenant_tables.clear();
  input.rls.bypass_roles.push_back({"etl", "bypassrls"});
  CHECK(step(diagnose(input), "rls").severity == Severity::Warning);
}

TEST_CASE("reports render as JSON and as text with colours only on request") {
  auto input = healthy();
  input.connections.saturation = 0.99;
  auto reports = std::vector<TargetReport>{diagnose(input)};
  auto json = report_json(reports);
  CHECK(json["exit_code"] == 2);
  CHECK(json["verdict"] == "critical");
  CHECK(json["targets"][0]["steps"][2]["severity"] == "critical");
  auto plain = report_text(reports, false);
  CHECK(plain.find("[CRIT] 3. Connections and saturation: ") != std::string::npos);
  CHECK(plain.find("\033[") == std::string::npos);
  CHECK(report_text(reports, true).find("\033[1;31m") != std::string::npos);
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
        "PostgreSQL answers (server_version_num 150020); 2 setting(s) changed but waiting for a "
        "restart: max_connections, shared_buffers");
}
