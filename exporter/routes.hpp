#pragma once
// The HTTP surface: every route reads the snapshot store, none talks to PostgreSQL.
#include "collectors/snapshot_store.hpp"
#include "exporter/http_server.hpp"
#include "exporter/metrics_page.hpp"

namespace pgpulse::exporter {

class Routes {
 public:
  explicit Routes(const collectors::SnapshotStore& store) : store_(store), metrics_(store) {}
  HttpResponse handle(const HttpRequest& request);

 private:
  const collectors::SnapshotStore& store_;
  MetricsPage metrics_;
};

}  // namespace pgpulse::exporter
