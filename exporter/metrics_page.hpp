#pragma once
// /metrics: every snapshot's pre-rendered families merged under one HELP/TYPE header per metric
// name, cached until the store changes; its OpenMetrics form and the gzip of either are made from
// that cached text once per generation too. A scrape never computes metrics, never compresses
// what an earlier scrape of the same generation compressed, and never waits on a database.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/snapshot_store.hpp"
#include "exporter/metrics_format.hpp"
#include "exporter/page_cache.hpp"

namespace pgpulse::exporter {

std::string merge_families(const core::SnapshotStore::View& view);

// Thread-safety: body() may be called from any thread. Borrows the store.
class MetricsPage {
 public:
  explicit MetricsPage(const core::SnapshotStore& store) : store_(store) {}
  std::shared_ptr<const std::string> body(MetricsFormat format = MetricsFormat::Text,
                                          bool gzipped = false);
  // Bodies compressed so far (for tests: one per generation and format asked for, at most).
  std::uint64_t compressions() const { return compressions_.load(); }

 private:
  const core::SnapshotStore& store_;
  PageCache text_, openmetrics_, text_gzip_, openmetrics_gzip_;
  std::atomic<std::uint64_t> compressions_{0};
};

}  // namespace pgpulse::exporter
