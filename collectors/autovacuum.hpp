#pragma once
// The `autovacuum` collector: autovacuum workers running against autovacuum_max_workers (all busy
// for long means tables wait their turn), how many of them run to prevent wraparound, and how
// long the oldest has run. From the tick's shared pg_stat_activity sample and settings read: no
// query of its own.
#include "collectors/collector.hpp"

namespace pgpulse::collectors {

struct AutovacuumSummary {
  long workers = 0;
  long wraparound_workers = 0;  // "autovacuum: VACUUM ... (to prevent wraparound)"
  long max_workers = 0;
  double oldest_seconds = 0;  // now - xact_start of the longest-running worker; 0 when none
};

AutovacuumSummary summarize_autovacuum(const ActivitySample& sample, long max_workers);
Families autovacuum_families(const AutovacuumSummary& summary);

// Thread-safety and ownership: as every Collector (one poller thread, no state kept).
class AutovacuumCollector : public Collector {
 public:
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
