#pragma once
// The HTTP surface: every route reads the snapshot store, none talks to PostgreSQL. Every body is
// rendered once per store generation (PageCache); /readyz, whose staleness verdict depends on the
// clock, is the one that is assessed per request (it is small).
//
// Thread-safety: handle() may be called from any HTTP thread. Borrows the store.
#include "core/snapshot_store.hpp"
#include "exporter/http_server.hpp"
#include "exporter/metrics_page.hpp"
#include "exporter/page_cache.hpp"

namespace pgpulse::exporter {

class Routes {
 public:
  explicit Routes(const core::SnapshotStore& store) : store_(store), metrics_(store) {}
  HttpResponse handle(const HttpRequest& request);

 private:
  const core::SnapshotStore& store_;
  MetricsPage metrics_;
  PageCache tables_, activity_, statements_, diagnose_, status_;
};

}  // namespace pgpulse::exporter
