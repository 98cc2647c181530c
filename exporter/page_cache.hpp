#pragma once
// A response body rendered at most once per snapshot-store generation: a flood of requests for
// /metrics, /, /diagnose or the JSON endpoints costs a pointer copy each, not a render each, and
// cannot slow the scrapes down.
//
// Thread-safety: get() may be called from any thread; two threads that miss at once may both
// render, and the body of the newer generation wins.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/snapshot_store.hpp"

namespace pgpulse::exporter {

class PageCache {
 public:
  template <class Render>  // std::string(const core::SnapshotStore::View&)
  std::shared_ptr<const std::string> get(const core::SnapshotStore& store, Render&& render) {
    auto generation = store.generation();
    {
      std::lock_guard lock(mutex_);
      if (cached_ && generation == generation_) return cached_;
    }
    auto view = store.view();
    auto body = std::make_shared<const std::string>(render(view));
    std::lock_guard lock(mutex_);
    if (!cached_ || view.generation >= generation_) {
      generation_ = view.generation;
      cached_ = body;
    }
    return body;
  }

 private:
  std::mutex mutex_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<const std::string> cached_;
};

}  // namespace pgpulse::exporter
