#pragma once
// One target's health, written by two threads (the fast poller and the database scanner) and
// published as the target's "health" snapshot after every change.
//
// Thread-safety: every member function may be called from any thread; update() runs its
// function under the board's lock, so it must not call back into the board. Borrows the store.
#include <functional>
#include <mutex>

#include "core/snapshot_store.hpp"
#include "core/target_health.hpp"

namespace pgpulse::daemon {

class HealthBoard {
 public:
  HealthBoard(core::TargetHealth initial, core::SnapshotStore& store)
      : health_(std::move(initial)), store_(store) {}

  // Changes the health and publishes it.
  void update(const std::function<void(core::TargetHealth&)>& change);
  core::TargetHealth copy() const;

  // The named collector's entry (inside update()); throws std::logic_error for an unknown name.
  static core::CollectorHealth& collector(core::TargetHealth& health, const std::string& name);

 private:
  mutable std::mutex mutex_;
  core::TargetHealth health_;
  core::SnapshotStore& store_;
};

}  // namespace pgpulse::daemon
