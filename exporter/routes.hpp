#pragma once
// The HTTP surface: every route reads the snapshot store, none talks to PostgreSQL. Every body is
// rendered once per store generation (PageCache); /readyz, whose staleness verdict depends on the
// clock, is the one that is assessed per request (it is small).
//
// Thread-safety: handle() may be called from any HTTP thread. Borrows the store.
#include <string>
#include <utility>

#include "core/snapshot_store.hpp"
#include "exporter/http_server.hpp"
#include "exporter/metrics_page.hpp"
#include "exporter/page_cache.hpp"

namespace pgpulse::exporter {

class Routes {
 public:
  // binary_version (PGPULSE_VERSION) goes into the body of /diagnose.
  Routes(const core::SnapshotStore& store, std::string binary_version)
      : store_(store), binary_version_(std::move(binary_version)), metrics_(store) {}
  HttpResponse handle(const HttpRequest& request);

 private:
  const core::SnapshotStore& store_;
  const std::string binary_version_;
  MetricsPage metrics_;
  PageCache tables_, activity_, statements_, diagnose_, status_;
};

}  // namespace pgpulse::exporter
