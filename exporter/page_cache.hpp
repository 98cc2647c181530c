#pragma once
// A response body rendered at most once per snapshot-store generation: a flood of requests for
// /metrics, /, /diagnose or the JSON endpoints costs a pointer copy each, not a render each, and
// cannot slow the scrapes down. A body made from another one (its OpenMetrics form, its gzip) is
// derived once per generation of the page it comes from.
//
// Thread-safety: get() and derive() may be called from any thread; two threads that miss at once
// may both render, and the body of the newer generation wins.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/snapshot_store.hpp"

namespace pgpulse::exporter {

class PageCache {
 public:
  struct Page {
    std::uint64_t generation = 0;
    std::shared_ptr<const std::string> body;
  };

  template <class Render>  // std::string(const core::SnapshotStore::View&)
  std::shared_ptr<const std::string> get(const core::SnapshotStore& store, Render&& render) {
    return page(store, render).body;
  }

  template <class Render>  // std::string(const core::SnapshotStore::View&)
  Page page(const core::SnapshotStore& store, Render&& render) {
    auto generation = store.generation();
    {
      std::lock_guard lock(mutex_);
      if (cached_ && generation == generation_) return Page{generation_, cached_};
    }
    auto view = store.view();
    return keep(view.generation, std::make_shared<const std::string>(render(view)));
  }

  // `from` made into another body with make(const std::string&), once per generation of `from`.
  template <class Make>  // std::string(const std::string&)
  Page derive(const Page& from, Make&& make) {
    {
      std::lock_guard lock(mutex_);
      if (cached_ && from.generation == generation_) return Page{generation_, cached_};
    }
    return keep(from.generation, std::make_shared<const std::string>(make(*from.body)));
  }

 private:
  Page keep(std::uint64_t generation, std::shared_ptr<const std::string> body) {
    std::lock_guard lock(mutex_);
    if (!cached_ || generation >= generation_) {
      generation_ = generation;
      cached_ = body;
    }
    return Page{generation, std::move(body)};
  }

  std::mutex mutex_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<const std::string> cached_;
};

}  // namespace pgpulse::exporter
