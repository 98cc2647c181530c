#pragma once
// /metrics: every snapshot's pre-rendered families merged under one HELP/TYPE header per metric
// name, cached until the store changes. A scrape never computes metrics and never waits on a
// database.
#include <memory>
#include <string>

#include "core/snapshot_store.hpp"
#include "exporter/page_cache.hpp"

namespace pgpulse::exporter {

std::string merge_families(const core::SnapshotStore::View& view);

// Thread-safety: body() may be called from any thread. Borrows the store.
class MetricsPage {
 public:
  explicit MetricsPage(const core::SnapshotStore& store) : store_(store) {}
  std::shared_ptr<const std::string> body() { return cache_.get(store_, merge_families); }

 private:
  const core::SnapshotStore& store_;
  PageCache cache_;
};

}  // namespace pgpulse::exporter
