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
  // pgpulse_version goes into /diagnose's body (the binary's PGPULSE_VERSION).
  Routes(const core::SnapshotStore& store, std::string pgpulse_version)
      : store_(store), pgpulse_version_(std::move(pgpulse_version)), metrics_(store) {}
  HttpResponse handle(const HttpRequest& request);

 private:
  const core::SnapshotStore& store_;
  const std::string pgpulse_version_;
  MetricsPage metrics_;
  PageCache tables_, activity_, statements_, diagnose_, status_;
};

}  // namespace pgpulse::exporter
