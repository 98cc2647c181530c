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
  // Each PgBouncer right after the server it fronts (its server: link), so the report reads the
  // server, then the pooler in front of it; the rest stays in name order.
  std::vector<std::string> server_of(inputs.size());  // "" unless placed after its server
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& health = inputs[i].target.health;
    if (health.kind != "pgbouncer" || health.server.empty()) continue;
    for (const auto& other : inputs) {
      if (other.target.target == health.server) server_of[i] = health.server;
    }
  }
  std::vector<analysis::DiagnosisInput> ordered;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!server_of[i].empty()) continue;
    ordered.push_back(inputs[i]);
    for (std::size_t j = 0; j < inputs.size(); ++j) {
      if (server_of[j] == inputs[i].target.target) ordered.push_back(inputs[j]);
    }
  }
  return ordered;
}

std::vector<analysis::TargetReport> diagnose_all(const core::SnapshotStore::View& view) {
  std::vector<analysis::TargetReport> reports;
  for (const auto& input : diagnosis_inputs(view)) reports.push_back(analysis::diagnose(input));
  return reports;
}

}  // namespace pgpulse::exporter
