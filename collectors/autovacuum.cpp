#include "collectors/autovacuum.hpp"

#include <algorithm>
#include <cmath>

namespace pgpulse::collectors {

AutovacuumSummary summarize_autovacuum(const ActivitySample& sample, long max_workers) {
  AutovacuumSummary summary;
  summary.max_workers = max_workers;
  for (const auto& row : sample.rows) {
    if (row.backend_type != "autovacuum worker") continue;
    ++summary.workers;
    // The worker's query text says why it runs; the suffix is PostgreSQL's own wording.
    if (row.query.find("(to prevent wraparound)") != std::string::npos) {
      ++summary.wraparound_workers;
    }
    if (std::isfinite(row.xact_start) && std::isfinite(sample.server_now)) {
      summary.oldest_seconds = std::max(summary.oldest_seconds, sample.server_now - row.xact_start);
    }
  }
  return summary;
}

Families autovacuum_families(const AutovacuumSummary& s) {
  Families families;
  add_sample(add_gauge(families, "pgpulse_autovacuum_workers", "Autovacuum workers running."), {},
             static_cast<double>(s.workers));
  add_sample(add_gauge(families, "pgpulse_autovacuum_wraparound_workers",
                       "Autovacuum workers running to prevent transaction ID wraparound."),
             {}, static_cast<double>(s.wraparound_workers));
  add_sample(add_gauge(families, "pgpulse_autovacuum_max_workers",
                       "autovacuum_max_workers: workers that may run at once."),
             {}, static_cast<double>(s.max_workers));
  add_sample(add_gauge(families, "pgpulse_autovacuum_worker_max_age_seconds",
                       "How long the longest-running autovacuum worker has run (0 when none)."),
             {}, s.oldest_seconds);
  return families;
}

CollectorOutput AutovacuumCollector::collect(PollContext& context) {
  auto summary =
      summarize_autovacuum(context.activity(), context.settings().autovacuum_max_workers);
  return CollectorOutput{autovacuum_families(summary), nullptr};
}

}  // namespace pgpulse::collectors
