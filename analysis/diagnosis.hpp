#pragma once
// The incident runbook, automated: from one target's health and its collectors' latest typed
// details, each runbook step's finding, severity and next action. Pure, so `pgpulse check` (fresh
// data) and /diagnose (the daemon's snapshots) give the same report.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/target_view.hpp"

namespace pgpulse::analysis {

// Info: worth knowing, never a problem (pgpulse connects as a superuser, RLS not in use in a
// database); below Ok, so it never changes a verdict or the exit code.
enum class Severity { Skipped, Info, Ok, Warning, Critical };
std::string_view severity_label(Severity severity);

// One value a step measured, with its unit: what a script reads instead of parsing the
// finding's prose (docs/endpoints.md lists them per step). Names are stable snake_case; a
// subject says what the value is about when it is not the whole target (a database, a role, an
// application, a pid, a pool, a standby).
struct Measurement {
  std::string name;     // "saturation", "client_backends", "longest_query"
  double value = 0;     // NaN: not known (JSON null)
  std::string unit;     // seconds, ratio, connections, backends, transactions, bytes, count, pid
  std::string subject;  // empty: the target
};

struct DiagnosisStep {
  DiagnosisStep() = default;
  DiagnosisStep(std::string id_, std::string title_, Severity severity_, std::string finding_ = "",
                std::string action_ = "")
      : id(std::move(id_)),
        title(std::move(title_)),
        severity(severity_),
        finding(std::move(finding_)),
        action(std::move(action_)) {}
  void measure(std::string name, double value, std::string unit, std::string subject = "") {
    measurements.push_back({std::move(name), value, std::move(unit), std::move(subject)});
  }

  // health, connectivity, connections, idle, queries_and_locks, statements, pools, rls,
  // replication, wraparound, horizon, monitoring; for a pgbouncer target: health,
  // pgbouncer_waiting, pgbouncer_pools, pgbouncer_clients, pgbouncer_budget
  std::string id;
  std::string title;
  Severity severity = Severity::Skipped;
  std::string finding;
  std::string action;  // the psql to confirm it and what to change; empty when nothing to do
  std::vector<Measurement> measurements;  // what the finding says, as numbers
};

struct TargetReport {
  std::string target;
  Severity verdict = Severity::Ok;
  std::vector<DiagnosisStep> steps;
};

struct DiagnosisInput {
  core::TargetView target;  // health and the collectors' typed details; a missing one: no data
  bool has_history = true;  // false for a one-shot check: no trend window yet
  double now_unix = 0;      // for the age of recent policy changes; 0: the clock
};

TargetReport diagnose(const DiagnosisInput& input);

// 0 healthy, 1 warning, 2 critical: the worst verdict over all targets.
int exit_code_for(const std::vector<TargetReport>& reports);

// What a report's JSON says about itself. kReportSchemaVersion grows when a field changes
// meaning or goes away (adding one does not): 1 was the prose-only report, 2 added measurements,
// the version, the time and this number.
inline constexpr int kReportSchemaVersion = 2;
struct ReportContext {
  std::string binary_version;  // PGPULSE_VERSION of the binary that wrote it
  double generated_at_unix = 0;
};

nlohmann::json report_json(const std::vector<TargetReport>& reports, const ReportContext& context);
std::string report_text(const std::vector<TargetReport>& reports, bool color);
// report_json's inverse, for `pgpulse check --daemon` (a running pgpulse's /diagnose). Throws
// nlohmann::json::exception on a body of another shape.
std::vector<TargetReport> reports_from_json(const nlohmann::json& body);

}  // namespace pgpulse::analysis
