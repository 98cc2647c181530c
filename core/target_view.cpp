#include "core/target_view.hpp"

#include <map>

namespace pgpulse::core {

std::vector<TargetView> group_by_target(const SnapshotStore::View& view) {
  std::map<std::string, TargetView> by_target;
  std::map<std::string, bool> has_health;
  for (const auto& snapshot : view.snapshots) {
    if (snapshot->target.empty()) continue;
    auto& target = by_target[snapshot->target];
    target.target = snapshot->target;
    if (snapshot->collector == kHealthSnapshot) {
      if (const auto* health = snapshot->details_as<TargetHealth>()) {
        target.health = *health;
        has_health[snapshot->target] = true;
      }
    } else if (snapshot->details) {
      target.snapshots.push_back(snapshot);
    }
  }
  std::vector<TargetView> targets;
  for (auto& [name, target] : by_target) {
    if (has_health[name]) targets.push_back(std::move(target));
  }
  return targets;
}

}  // namespace pgpulse::core
