#pragma once
// The incident runbook, automated: from one target's health and its collectors' latest typed
// details, each runbook step's finding, severity and next action. Pure, so `pgpulse check` (fresh
// data) and /diagnose (the daemon's snapshots) give the same report.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/target_view.hpp"

namespace pgpulse::analysis {

// Info: worth knowing, never a problem (pgpulse connects as a superuser, RLS not in use in a
// database); below Ok, so it never changes a verdict or the exit code.
enum class Severity { Skipped, Info, Ok, Warning, Critical };
std::string_view severity_label(Severity severity);

struct DiagnosisStep {
  // health, connectivity, connections, idle, queries_and_locks, statements, pools, rls,
  // replication, wraparound, horizon, monitoring; for a pgbouncer target: health,
  // pgbouncer_waiting, pgbouncer_pools, pgbouncer_clients, pgbouncer_budget
  std::string id;
  std::string title;
  Severity severity = Severity::Skipped;
  std::string finding;
  std::string action;  // the psql to confirm it and what to change; empty when nothing to do
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

nlohmann::json report_json(const std::vector<TargetReport>& reports);
std::string report_text(const std::vector<TargetReport>& reports, bool color);
// report_json's inverse, for `pgpulse check --daemon` (a running pgpulse's /diagnose). Throws
// nlohmann::json::exception on a body of another shape.
std::vector<TargetReport> reports_from_json(const nlohmann::json& body);

}  // namespace pgpulse::analysis
