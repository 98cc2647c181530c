#pragma once
// One target's snapshots, grouped from a store view: what the analysis and the pages read. A
// reader asks for a collector's details by type, never by a collector name or a JSON key.
//
// Ownership: holds shared pointers, so the snapshots (and the details they carry) stay alive as
// long as the view does, whatever the collectors publish meanwhile.
#include <memory>
#include <string>
#include <vector>

#include "core/snapshot_store.hpp"
#include "core/target_health.hpp"

namespace pgpulse::core {

struct TargetView {
  std::string target;
  TargetHealth health;
  std::vector<std::shared_ptr<const Snapshot>> snapshots;  // the collectors' data snapshots

  // The details of type T, from whichever snapshot carries them; nullptr when none does (the
  // collector is disabled, not applicable, failed, or has not run yet).
  template <class T>
  const T* find() const {
    for (const auto& snapshot : snapshots) {
      if (const T* details = snapshot->details_as<T>()) return details;
    }
    return nullptr;
  }

  // The snapshot whose details are of type T (for its taken_at), or nullptr.
  template <class T>
  const Snapshot* snapshot_of() const {
    for (const auto& snapshot : snapshots) {
      if (snapshot->details_as<T>()) return snapshot.get();
    }
    return nullptr;
  }

  // For tests and one-shot runs: adds a snapshot of `collector` carrying `details`.
  template <class T>
  void add(const std::string& collector, T details) {
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->target = target;
    snapshot->collector = collector;
    snapshot->details = make_details(std::move(details));
    snapshots.push_back(std::move(snapshot));
  }
};

// Every target with a health snapshot, in name order; a target being stopped (no health) is left
// out. Process-wide snapshots (target "") are ignored.
std::vector<TargetView> group_by_target(const SnapshotStore::View& view);

}  // namespace pgpulse::core
