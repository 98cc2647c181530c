#include <catch2/catch.hpp>

#include "collectors/diagnosis.hpp"
#include "exporter/status_page.hpp"

using namespace pgpulse::collectors;

namespace {

DiagnosisInput healthy() {
  DiagnosisInput input;
  input.health.target = "main";
  input.health.up = input.health.connected_once = true;
  input.health.server_version = 150020;
  input.details["connections"] = {
      {"client_backends", 10},
      {"max_connections", 100},
      {"reserved_connections", 3},
      {"saturation", 10.0 / 97},
      {"top_applications", {{{"application_name", "web"}, {"connections", 8}}}},
      {"top_users", {{{"usename", "app"}, {"connections", 9}}}},
      {"database_limits", nlohmann::json::array()},
      {"role_limits", nlohmann::json::array()}};
  input.details["idle_trend"] = {{"idle", 4},
                                 {"idle_in_transaction", 0},
                                 {"oldest_idle", nullptr},
                                 {"oldest_idle_in_transaction", nullptr},
                                 {"leaks", nlohmann::json::array()},
                                 {"exhaustion_eta_seconds", nullptr}};
  input.details["long_queries"] = {{"longest_query_seconds", 1.0},
                                   {"longest_transaction_seconds", 2.0},
                                   {"thresholds_seconds", {30, 300}},
                                   {"offenders", nlohmann::json::array()}};
  input.details["locks"] = {
      {"blocked", 0}, {"max_wait_seconds", 0.0}, {"blocking_tree", nlohmann::json::array()}};
  input.details["pools"] = {{"pools", nlohmann::json::array()}, {"overcommit", 0.0}};
  input.details["rls"] = {{"unprotected_tenant_tables", nlohmann::json::array()},
                          {"bypass_roles", {{{"rolname", "postgres"}, {"reason", "superuser"}}}},
                          {"monitoring_role_superuser", false}};
  return input;
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
                                          "queries_and_locks", "pools", "rls"});
  CHECK(step(report, "connections").finding ==
        "10 of 97 usable slots in use (saturation 0.10); by application: web 8; by role: app 9");
  CHECK(exit_code_for({report}) == 0);
}

TEST_CASE("saturation thresholds: 0.8 warns and 0.95 is critical") {
  auto input = healthy();
  input.details["connections"]["saturation"] = 0.85;
  CHECK(step(diagnose(input), "connections").severity == Severity::Warning);
  input.details["connections"]["saturation"] = 0.96;
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
  input.details["idle_trend"]["leaks"] = {
      {{"application_name", "celery"}, {"growth_per_minute", 2.5}, {"r2", 0.97}}};
  CHECK(step(diagnose(input), "idle").severity == Severity::Warning);
  CHECK(step(diagnose(input), "idle").finding.find("leak suspected in celery (+2.50") !=
        std::string::npos);
  input.details["idle_trend"]["exhaustion_eta_seconds"] = 1200.0;
  CHECK(step(diagnose(input), "idle").severity == Severity::Critical);
  auto tx = healthy();
  tx.details["idle_trend"]["oldest_idle_in_transaction"] = {{"name", "app"}, {"seconds", 400.0}};
  CHECK(step(diagnose(tx), "idle").severity == Severity::Warning);
}

TEST_CASE("long queries follow the largest configured threshold and locks escalate with the wait") {
  auto input = healthy();
  input.details["long_queries"]["longest_query_seconds"] = 301.0;
  CHECK(step(diagnose(input), "queries_and_locks").severity == Severity::Warning);
  input.details["long_queries"]["thresholds_seconds"] = {5, 600};
  CHECK(step(diagnose(input), "queries_and_locks").severity == Severity::Ok);
  auto locks = healthy();
  locks.details["locks"] = {
      {"blocked", 2},
      {"max_wait_seconds", 10.0},
      {"blocking_tree", {{{"pid", 4242}, {"waiting", nlohmann::json::array()}}}}};
  auto s = step(diagnose(locks), "queries_and_locks");
  CHECK(s.severity == Severity::Warning);
  CHECK(s.finding.find("2 backends blocked on locks for up to 10s, root blocker pid(s) 4242") !=
        std::string::npos);
  locks.details["locks"]["max_wait_seconds"] = 90.0;
  CHECK(step(diagnose(locks), "queries_and_locks").severity == Severity::Critical);
}

TEST_CASE("pool budgets and RLS findings") {
  auto input = healthy();
  input.details["pools"] = {
      {"pools", {{{"name", "web"}, {"budget", 10}, {"connections", 12}, {"utilization", 1.2}}}},
      {"overcommit", 1.3}};
  auto pools = step(diagnose(input), "pools");
  CHECK(pools.severity == Severity::Warning);
  CHECK(pools.finding.find("web holds 12 connections, over its budget of 10") != std::string::npos);
  input.details["rls"]["unprotected_tenant_tables"] = {
      {{"datname", "app"}, {"schema", "public"}, {"table", "invoices"}, {"status", "unprotected"}}};
  auto rls = step(diagnose(input), "rls");
  CHECK(rls.severity == Severity::Critical);
  CHECK(rls.finding == "1 tenant table(s) without RLS in force: app:public.invoices (unprotected)");
  input.details["rls"]["unprotected_tenant_tables"] = nlohmann::json::array();
  input.details["rls"]["bypass_roles"].push_back({{"rolname", "etl"}, {"reason", "bypassrls"}});
  CHECK(step(diagnose(input), "rls").severity == Severity::Warning);
}

TEST_CASE("reports render as JSON and as text with colours only on request") {
  auto input = healthy();
  input.details["connections"]["saturation"] = 0.99;
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
  CHECK(pgpulse::exporter::sparkline_svg(nlohmann::json::array(), 100).find("polyline") ==
        std::string::npos);
}
