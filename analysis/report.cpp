#include <sstream>

#include "analysis/diagnosis.hpp"

// The report's renderings: the JSON of /diagnose and `pgpulse check --output json` (and back, for
// `check --daemon`), the text of `pgpulse check`, and the exit code both derive from the verdicts.
namespace pgpulse::analysis {

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
