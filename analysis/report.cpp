#include <cmath>
#include <sstream>

#include "analysis/diagnosis.hpp"
#include "core/time.hpp"

// The report's renderings: the JSON of /diagnose and `pgpulse check --output json` (and back, for
// `check --daemon`), the text of `pgpulse check`, and the exit code both derive from the verdicts.
namespace pgpulse::analysis {

int exit_code_for(const std::vector<TargetReport>& reports) {
  Severity worst = Severity::Ok;
  for (const auto& r : reports) worst = std::max(worst, r.verdict);
  return worst == Severity::Critical ? 2 : worst == Severity::Warning ? 1 : 0;
}

namespace {

nlohmann::json measurements_json(const std::vector<Measurement>& measurements) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : measurements) {
    nlohmann::json item{{"name", m.name}, {"unit", m.unit}};
    item["value"] = std::isfinite(m.value) ? nlohmann::json(m.value) : nlohmann::json(nullptr);
    if (!m.subject.empty()) item["subject"] = m.subject;
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

nlohmann::json report_json(const std::vector<TargetReport>& reports, const ReportContext& context) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& r : reports) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : r.steps) {
      steps.push_back({{"id", s.id},
                       {"title", s.title},
                       {"severity", severity_label(s.severity)},
                       {"finding", s.finding},
                       {"action", s.action},
                       {"measurements", measurements_json(s.measurements)}});
    }
    targets.push_back(
        {{"target", r.target}, {"verdict", severity_label(r.verdict)}, {"steps", steps}});
  }
  int code = exit_code_for(reports);
  return {{"schema_version", kReportSchemaVersion},
          {"pgpulse_version", context.binary_version},
          {"generated_at", core::utc_rfc3339(context.generated_at_unix)},
          {"generated_at_unix", context.generated_at_unix},
          {"verdict", code == 2   ? "critical"
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
      DiagnosisStep step(s.at("id").get<std::string>(), s.at("title").get<std::string>(),
                         severity_of(s.at("severity").get<std::string>()),
                         s.at("finding").get<std::string>(), s.at("action").get<std::string>());
      // A schema 1 body (an older daemon) has none.
      for (const auto& m : s.value("measurements", nlohmann::json::array())) {
        const auto& value = m.at("value");
        step.measure(m.at("name").get<std::string>(),
                     value.is_null() ? std::nan("") : value.get<double>(),
                     m.at("unit").get<std::string>(), m.value("subject", std::string()));
      }
      report.steps.push_back(std::move(step));
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
