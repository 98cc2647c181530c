#include "exporter/diagnose_page.hpp"

#include <map>

namespace pgpulse::exporter {

std::vector<collectors::DiagnosisInput> diagnosis_inputs(
    const collectors::SnapshotStore::View& view) {
  std::map<std::string, collectors::DiagnosisInput> by_target;
  for (const auto& snapshot : view.snapshots) {
    if (snapshot->target.empty()) continue;
    if (snapshot->collector == collectors::kHealthSnapshot) {
      if (!snapshot->details.is_null()) {
        by_target[snapshot->target].health = snapshot->details.get<collectors::TargetHealth>();
      }
    } else if (snapshot->details.is_object()) {
      by_target[snapshot->target].details[snapshot->collector] = snapshot->details;
    }
  }
  std::vector<collectors::DiagnosisInput> inputs;
  for (auto& [target, input] : by_target) {
    if (input.health.target.empty()) continue;  // a target being stopped
    inputs.push_back(std::move(input));
  }
  return inputs;
}

std::vector<collectors::TargetReport> diagnose_all(const collectors::SnapshotStore::View& view) {
  std::vector<collectors::TargetReport> reports;
  for (const auto& input : diagnosis_inputs(view)) reports.push_back(collectors::diagnose(input));
  return reports;
}

}  // namespace pgpulse::exporter
