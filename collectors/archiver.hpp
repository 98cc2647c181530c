#pragma once
// The `archiver` collector: WAL segments archived and failed, how long since the last success,
// and whether the last attempt failed. Applies where the archiver runs: archive_mode on (or
// always) on a primary, always on a standby; not applicable otherwise (asked at every reconnect,
// and archive_mode only changes with a restart).
#include <optional>
#include <string>

#include "collectors/collector.hpp"

namespace pgpulse::collectors {

struct ArchiverRow {
  long long archived = 0, failed = 0;
  double last_archived = 0, last_failed = 0;  // epoch seconds, NaN when never
  double now = 0;                             // the server's clock
};

struct ArchiverSummary {
  long long archived = 0, failed = 0;
  std::optional<double> last_archived_age_seconds;  // absent before the first success
  bool failing = false;  // the last attempt failed (a failure after the last success)
};

ArchiverSummary summarize_archiver(const ArchiverRow& row);
Families archiver_families(const ArchiverSummary& summary);

extern const char* const kArchiverSql;
// "yes", or why not, from archive_mode and pg_is_in_recovery().
Applicability archiver_applies(const std::string& archive_mode, bool in_recovery);

// Thread-safety and ownership: as every Collector (one poller thread, no state kept).
class ArchiverCollector : public Collector {
 public:
  Applicability applicability(PollContext& context) override;
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
