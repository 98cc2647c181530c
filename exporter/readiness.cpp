#include "exporter/readiness.hpp"

#include "core/target_health.hpp"

namespace pgpulse::exporter {

Readiness assess_readiness(const core::SnapshotStore::View& view, double now_unix) {
  Readiness readiness;
  bool any_target = false;
  for (const auto& snapshot : view.snapshots) {
    if (snapshot->collector != core::kHealthSnapshot) continue;
    const auto* found = snapshot->details_as<core::TargetHealth>();
    if (!found) continue;
    any_target = true;
    const auto& health = *found;
    if (!health.connected_once) {
      readiness.ready = false;
      readiness.reasons.push_back(
          "target " + health.target + ": never connected" +
          (health.last_error_reason.empty() ? "" : " (" + health.last_error_reason + ")"));
      continue;
    }
    if (!health.up) {
      readiness.ready = false;
      readiness.reasons.push_back("target " + health.target + ": down (" +
                                  health.last_error_reason + ")");
    }
    for (const auto& c : health.collectors) {
      if (!c.applicable) {
        // Not a blocker, but said, so that a missing signal has its reason next to it.
        readiness.notes.push_back("target " + health.target + ": collector " + c.name +
                                  " not applicable: " + c.not_applicable_reason);
        continue;
      }
      if (c.last_success_unix <= 0) {
        readiness.ready = false;
        readiness.reasons.push_back("target " + health.target + ": collector " + c.name +
                                    (c.ran ? " has never succeeded" : " has no data yet"));
        continue;
      }
      if (now_unix - c.last_success_unix > 3 * c.interval_seconds) {
        readiness.ready = false;
        readiness.reasons.push_back(
            "target " + health.target + ": collector " + c.name + " is stale (last success " +
            std::to_string(static_cast<long>(now_unix - c.last_success_unix)) + "s ago)");
      }
    }
  }
  if (!any_target) {
    readiness.ready = false;
    readiness.reasons.push_back("no targets configured yet");
  }
  return readiness;
}

}  // namespace pgpulse::exporter
