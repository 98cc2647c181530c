#include "analysis/diagnosis.hpp"

#include "analysis/health_steps.hpp"
#include "analysis/pgbouncer_diagnosis.hpp"
#include "analysis/statements_step.hpp"
#include "analysis/steps.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace pgpulse::analysis {

using core::TargetHealth;

std::string_view severity_label(Severity severity) {
  switch (severity) {
    case Severity::Skipped:
      return "skipped";
    case Severity::Info:
      return "info";
    case Severity::Ok:
      return "ok";
    case Severity::Warning:
      return "warning";
    case Severity::Critical:
      break;
  }
  return "critical";
}

std::string fmt_seconds(double seconds) {
  if (!std::isfinite(seconds)) return "unknown";  // a cast of NaN or inf to long is undefined
  std::ostringstream out;
  if (seconds >= 86400) {
    out << static_cast<long>(seconds / 86400) << "d" << static_cast<long>(seconds / 3600) % 24
        << "h";
  } else if (seconds >= 3600) {
    out << static_cast<long>(seconds / 3600) << "h" << static_cast<long>(seconds / 60) % 60 << "m";
  } else if (seconds >= 60) {
    out << static_cast<long>(seconds / 60) << "m" << static_cast<long>(seconds) % 60 << "s";
  } else {
    out << static_cast<long>(seconds) << "s";
  }
  return out.str();
}

std::string fmt_ratio(double ratio) {
  std::ostringstream out;
  out.precision(2);
  out << std::fixed << ratio;
  return out.str();
}

std::string fmt_count(double value, const char* unit) {
  std::ostringstream out;
  out.precision(1);
  out << std::fixed;
  if (value >= 1e9) {
    out << value / 1e9 << "G";
  } else if (value >= 1e6) {
    out << value / 1e6 << "M";
  } else if (value >= 1e3) {
    out << value / 1e3 << "k";
  } else {
    out.precision(0);
    out << value;
  }
  out << unit;
  return out.str();
}

DiagnosisStep skipped(std::string id, std::string title, std::string why) {
  return DiagnosisStep{std::move(id), std::move(title), Severity::Skipped, std::move(why), ""};
}

TargetReport diagnose(const DiagnosisInput& input) {
  const auto& health = input.target.health;
  TargetReport report;
  report.target = health.target;
  if (health.kind == "pgbouncer") {
    report.steps = pgbouncer_steps(input);
    report.verdict = Severity::Ok;
    for (const auto& step : report.steps) report.verdict = std::max(report.verdict, step.severity);
    return report;
  }
  report.steps.push_back(health_step(health));
  if (health.up) note_pending_restart(report.steps.back(), input);
  report.steps.push_back(connectivity_step(health));
  if (health.up) {
    report.steps.push_back(connections_step(input));
    report.steps.push_back(idle_step(input));
    report.steps.push_back(queries_step(input));
    report.steps.push_back(statements_step(input));
    report.steps.push_back(pools_step(input));
    report.steps.push_back(rls_step(input));
    report.steps.push_back(replication_step(input));
    report.steps.push_back(wraparound_step(input));
    report.steps.push_back(horizon_step(input));
    report.steps.push_back(monitoring_step(input));
  } else {
    for (auto [id, title] : {std::pair{"connections", "Connections and saturation"},
                             {"idle", "Idle connections and leaks"},
                             {"queries_and_locks", "Long queries and locks"},
                             {"statements", kStatementsTitle},
                             {"pools", "Pool budgets"},
                             {"rls", "Row-level security"},
                             {"replication", "Replication"},
                             {"wraparound", "Transaction ID wraparound"},
                             {"horizon", "Who holds the xmin horizon back"},
                             {"monitoring", "How pgpulse connects"}}) {
      report.steps.push_back(skipped(id, title, "not connected"));
    }
  }
  // Info and skipped steps rank below ok: they never change the verdict or the exit code.
  report.verdict = Severity::Ok;
  for (const auto& step : report.steps) report.verdict = std::max(report.verdict, step.severity);
  return report;
}

}  // namespace pgpulse::analysis
