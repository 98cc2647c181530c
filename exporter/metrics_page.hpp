#pragma once
// /metrics: every snapshot's pre-rendered families merged under one HELP/TYPE header per metric
// name, cached until the store changes. A scrape never computes metrics and never waits on a
// database.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "collectors/snapshot_store.hpp"

namespace pgpulse::exporter {

std::string merge_families(const collectors::SnapshotStore::View& view);

class MetricsPage {
 public:
  explicit MetricsPage(const collectors::SnapshotStore& store) : store_(store) {}
  std::shared_ptr<const std::string> body();

 private:
  const collectors::SnapshotStore& store_;
  std::mutex mutex_;
  std::uint64_t generation_ = ~std::uint64_t{0};
  std::shared_ptr<const std::string> cached_;
};

}  // namespace pgpulse::exporter
