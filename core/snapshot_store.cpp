#include "core/snapshot_store.hpp"

namespace pgpulse::core {

void SnapshotStore::publish(std::shared_ptr<const Snapshot> snapshot) {
  auto key = std::make_pair(snapshot->target, snapshot->collector);
  std::shared_ptr<const Snapshot> previous;  // released outside the lock
  std::lock_guard lock(mutex_);
  previous = std::exchange(snapshots_[key], std::move(snapshot));
  ++generation_;
}

void SnapshotStore::remove(const std::string& target, const std::string& collector) {
  std::lock_guard lock(mutex_);
  if (snapshots_.erase({target, collector}) > 0) ++generation_;
}

void SnapshotStore::remove_target(const std::string& target) {
  std::lock_guard lock(mutex_);
  auto first = snapshots_.lower_bound({target, ""});
  auto last = first;
  while (last != snapshots_.end() && last->first.first == target) ++last;
  if (first != last) {
    snapshots_.erase(first, last);
    ++generation_;
  }
}

SnapshotStore::View SnapshotStore::view() const {
  View view;
  std::lock_guard lock(mutex_);
  view.generation = generation_;
  view.snapshots.reserve(snapshots_.size());
  for (const auto& [key, snapshot] : snapshots_) view.snapshots.push_back(snapshot);
  return view;
}

std::uint64_t SnapshotStore::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

}  // namespace pgpulse::core
