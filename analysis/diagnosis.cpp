#include "analysis/diagnosis.hpp"

#include "analysis/health_steps.hpp"
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
  report.steps.push_back(health_step(health));
  if (health.up) note_pending_restart(report.steps.back(), input);
  report.steps.push_back(connectivity_step(health));
  if (health.up) {
    report.steps.push_back(connections_step(input));
    report.steps.push_back(idle_step(input));
    report.steps.push_back(queries_step(input));
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

int exit_code_for(const std::vector<TargetReport>& reports) {
  Severity worst = Severity::Ok;
  for (const auto& r : reports) worst = std::max(worst, r.verdict);
  return worst == Severity::Critical ? 2 : worst == Severity::Warning ? 1 : 0;
}

nlohmann::json report_json(const std::vector<TargetReport>& reports) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& r : reports) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : r.steps) {
      steps.push_back({{"id", s.id},
                       {"title", s.title},
                       {"severity", severity_label(s.severity)},
                       {"finding", s.finding},
                       {"action", s.action}});
    }
    targets.push_back(
        {{"target", r.target}, {"verdict", severity_label(r.verdict)}, {"steps", steps}});
  }
  int code = exit_code_for(reports);
  return {{"verdict", code == 2   ? "critical"
                      : code == 1 ? "warning"
                                  : "ok"},
          {"exit_code", code},
          {"targets", targets}};
}

std::vector<TargetReport> reports_from_json(const nlohmann::json& body) {
  auto severity_of = [](const std::string& label) {
    for (auto s :
         {Severity::Skipped, Severity::Info, Severity::Ok, Severity::Warning, Severity::Critical}) {
      if (severity_label(s) == label) return s;
    }
    return Severity::Skipped;
  };
  std::vector<TargetReport> reports;
  for (const auto& t : body.at("targets")) {
    TargetReport report;
    report.target = t.at("target").get<std::string>();
    report.verdict = severity_of(t.at("verdict").get<std::string>());
    for (const auto& s : t.at("steps")) {
      report.steps.push_back({s.at("id").get<std::string>(), s.at("title").get<std::string>(),
                              severity_of(s.at("severity").get<std::string>()),
                              s.at("finding").get<std::string>(),
                              s.at("action").get<std::string>()});
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

std::string report_text(const std::vector<TargetReport>& reports, bool color) {
  auto paint = [&](Severity s, std::string text) {
    if (!color) return text;
    const char* code = s == Severity::Critical  ? "\033[1;31m"
                       : s == Severity::Warning ? "\033[1;33m"
                       : s == Severity::Ok      ? "\033[32m"
                                                : "\033[2m";
    return code + text + "\033[0m";
  };
  auto tag = [](Severity s) -> std::string {
    switch (s) {
      case Severity::Ok:
        return "[ OK ]";
      case Severity::Info:
        return "[INFO]";
      case Severity::Warning:
        return "[WARN]";
      case Severity::Critical:
        return "[CRIT]";
      case Severity::Skipped:
        break;
    }
    return "[SKIP]";
  };
  std::ostringstream out;
  for (const auto& r : reports) {
    out << "target " << r.target << ": " << paint(r.verdict, std::string(severity_label(r.verdict)))
        << "\n";
    int n = 1;
    for (const auto& s : r.steps) {
      bool question = !s.title.empty() && s.title.back() == '?';
      out << "  " << paint(s.severity, tag(s.severity)) << " " << n++ << ". " << s.title
          << (question ? " " : ": ") << s.finding << "\n";
      if (!s.action.empty()) out << "         next: " << s.action << "\n";
    }
  }
  return out.str();
}

}  // namespace pgpulse::analysis
