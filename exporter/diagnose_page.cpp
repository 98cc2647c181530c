#include "exporter/diagnose_page.hpp"

#include "core/target_view.hpp"

namespace pgpulse::exporter {

std::vector<analysis::DiagnosisInput> diagnosis_inputs(const core::SnapshotStore::View& view) {
  std::vector<analysis::DiagnosisInput> inputs;
  for (auto& target : core::group_by_target(view)) {
    analysis::DiagnosisInput input;
    input.target = std::move(target);
    inputs.push_back(std::move(input));
  }
  return inputs;
}

std::vector<analysis::TargetReport> diagnose_all(const core::SnapshotStore::View& view) {
  std::vector<analysis::TargetReport> reports;
  for (const auto& input : diagnosis_inputs(view)) reports.push_back(analysis::diagnose(input));
  return reports;
}

}  // namespace pgpulse::exporter
