// The report as a script reads it (/diagnose, `pgpulse check --output json`): the schema's own
// fields, each step's measurements with their units, and the way back for `check --daemon`.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "diagnosis_fixture.hpp"

using namespace pgpulse::testing::diagnosis;

namespace {

const Measurement* measurement(const DiagnosisStep& step, const std::string& name,
                               const std::string& subject = "") {
  for (const auto& m : step.measurements) {
    if (m.name == name && m.subject == subject) return &m;
  }
  return nullptr;
}

// The value of a measurement the step must have: a missing one fails this check, not the binary.
double value_of(const DiagnosisStep& step, const std::string& name,
                const std::string& subject = "") {
  const auto* m = measurement(step, name, subject);
  INFO("step " << step.id << ", measurement " << name << " [" << subject << "]");
  REQUIRE(m);
  return m->value;
}

}  // namespace

TEST_CASE("reports render as JSON and as text with colours only on request") {
  auto input = healthy();
  input.connections.saturation = 0.99;
  auto reports = std::vector<TargetReport>{diagnose(input)};
  auto json = report_json(reports, {"1.2.3", 1'800'000'000});
  CHECK(json["exit_code"] == 2);
  CHECK(json["verdict"] == "critical");
  CHECK(json["targets"][0]["steps"][2]["severity"] == "critical");
  auto plain = report_text(reports, false);
  CHECK(plain.find("[CRIT] 3. Connections and saturation: ") != std::string::npos);
  CHECK(plain.find("\033[") == std::string::npos);
  CHECK(report_text(reports, true).find("\033[1;31m") != std::string::npos);
}

TEST_CASE("the report JSON says its schema, the pgpulse version and when it was made") {
  auto json = report_json({diagnose(healthy())}, {"1.2.3", 1'800'000'000.5});
  CHECK(json["schema_version"] == kReportSchemaVersion);
  CHECK(kReportSchemaVersion == 2);
  CHECK(json["pgpulse_version"] == "1.2.3");
  CHECK(json["generated_at"] == "2027-01-15T08:00:00Z");
  CHECK(json["generated_at_unix"] == 1'800'000'000.5);
}

TEST_CASE("each step carries what it measured, with units, as numbers") {
  auto input = healthy();
  input.queries.longest_query_seconds = 420;
  input.queries.longest_transaction_seconds = 480;
  auto report = diagnose(input);

  const auto& connections = step(report, "connections");
  const auto* saturation = measurement(connections, "saturation");
  REQUIRE(saturation);
  CHECK(saturation->value == input.connections.saturation);
  CHECK(saturation->unit == "ratio");
  const auto* backends = measurement(connections, "client_backends");
  REQUIRE(backends);
  CHECK(backends->value == 10);  // nine clients and pgpulse itself hold slots
  CHECK(backends->unit == "connections");
  const auto* web = measurement(connections, "application_connections", "web");
  REQUIRE(web);
  CHECK(web->value == 9);

  const auto& queries = step(report, "queries_and_locks");
  const auto* longest = measurement(queries, "longest_query");
  REQUIRE(longest);
  CHECK(longest->value == 420);
  CHECK(longest->unit == "seconds");
  CHECK(value_of(queries, "longest_transaction") == 480);
  CHECK(value_of(queries, "blocked_backends") == 0);

  const auto& health = step(report, "health");
  CHECK(value_of(health, "up") == 1);
  CHECK(value_of(health, "server_version_num") == 150020);

  const auto& wraparound = step(report, "wraparound");
  const auto* age = measurement(wraparound, "oldest_database_xid_age", "app");
  REQUIRE(age);
  CHECK(age->value == 20'000'000);
  CHECK(age->unit == "transactions");
}

TEST_CASE("names are measurements' subjects: bypass roles, unprotected tables") {
  auto input = healthy();
  input.rls.bypass_roles.push_back({"etl", "bypassrls", false});
  input.rls.bypass_roles.push_back({"backup", "bypassrls", true});  // exempt: not a finding
  const auto rls = step(diagnose(input), "rls");  // a copy: the report is a temporary
  const auto* etl = measurement(rls, "bypass_role", "etl");
  REQUIRE(etl);
  CHECK(etl->unit == "role");
  CHECK_FALSE(measurement(rls, "bypass_role", "backup"));
  CHECK(value_of(rls, "databases_scanned") == 1);
  CHECK(value_of(rls, "unprotected_tenant_tables") == 0);
}

TEST_CASE("measurements survive the JSON and back; an unknown value is null") {
  auto report = diagnose(healthy());
  auto& connections = report.steps[2];
  REQUIRE(connections.id == "connections");
  connections.measure("exhaustion_eta", std::nan(""), "seconds");
  connections.measure("infinite_ratio", std::numeric_limits<double>::infinity(), "ratio");
  auto json = report_json({report}, {"1.2.3", 1'800'000'000});
  const auto& items = json["targets"][0]["steps"][2]["measurements"];
  auto item = [&](const std::string& name) {
    for (const auto& m : items) {
      if (m["name"] == name) return m;
    }
    FAIL("no measurement " << name);
    return nlohmann::json();
  };
  CHECK(item("exhaustion_eta")["value"].is_null());
  CHECK(item("infinite_ratio")["value"].is_null());  // JSON has no infinity
  CHECK(item("application_connections")["subject"] == "web");
  CHECK_FALSE(item("saturation").contains("subject"));

  auto back = reports_from_json(json);
  REQUIRE(back.size() == 1);
  const auto& again = back[0].steps[2];
  REQUIRE(again.measurements.size() == connections.measurements.size());
  CHECK(value_of(again, "saturation") == value_of(connections, "saturation"));
  CHECK(std::isnan(value_of(again, "exhaustion_eta")));

  // A schema 1 body (an older daemon, for check --daemon) has no measurements: still read.
  for (auto& target : json["targets"]) {
    for (auto& s : target["steps"]) s.erase("measurements");
  }
  auto old = reports_from_json(json);
  CHECK(old[0].steps[2].measurements.empty());
  CHECK(old[0].steps[2].finding == connections.finding);
}
