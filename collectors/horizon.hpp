#pragma once
// The `horizon` collector: who holds the xmin horizon back, so that VACUUM cannot remove dead
// rows (bloat) nor freeze (wraparound). The oldest holder of each kind: a running backend, a
// session idle in transaction, a replication slot (xmin or catalog_xmin), a prepared transaction,
// a standby's hot_standby_feedback. Backends come from the tick's shared pg_stat_activity sample;
// the others from one query.
#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "core/details/horizon.hpp"

namespace pgpulse::collectors {

// The kinds, in the order the metric lists them.
inline constexpr const char* kHorizonHolders[] = {"backend", "idle_in_transaction",
                                                  "replication_slot", "prepared_transaction",
                                                  "standby_feedback"};

// One row of kHorizonSql: a slot, a prepared transaction or a standby's feedback.
struct HorizonRow {
  std::string holder;  // replication_slot, prepared_transaction or standby_feedback
  std::string name;    // slot name, gid, or the standby's application_name
  int pid = 0;
  std::string datname, usename;
  long long xid_age = -1;  // -1: holds nothing
  double since = 0;        // epoch seconds the hold started (prepared), NaN when unknown
};

extern const char* const kHorizonSql;
std::vector<HorizonRow> parse_horizon(const pg::Result& result);

// The oldest holder of each kind, oldest first. Walsenders are left out of the backends (what
// they hold is their standby's feedback, reported as standby_feedback from pg_stat_replication),
// and so is pgpulse's own backend.
core::HorizonDetails summarize_horizon(const ActivitySample& sample,
                                       const std::vector<HorizonRow>& rows);
Families horizon_families(const core::HorizonDetails& details);

// Thread-safety and ownership: as every Collector (one poller thread, no state kept).
class HorizonCollector : public Collector {
 public:
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
