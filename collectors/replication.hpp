#pragma once
// The `replication` collector, on a primary: each standby's lag (time to write, flush and replay,
// and bytes sent but not replayed), the standbys by state, and each replication slot's activity,
// retained WAL and wal_status. Not applicable on a standby (the `standby` collector is); asked
// again at every reconnect.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.hpp"
#include "core/details/replication.hpp"

namespace pgpulse::collectors {

// pg_stat_replication rows are StandbyLag (lags NULL, i.e. caught up, read as 0); slots SlotState.
struct ReplicationRows {
  std::vector<core::StandbyLag> standbys;
  std::vector<core::SlotState> slots;
};

extern const char* const kReplicationSql;
ReplicationRows parse_replication(const pg::Result& result);

inline constexpr const char* kWalStatuses[] = {"reserved", "extended", "unreserved", "lost"};

struct ReplicationSummary {
  // Labels folded to labels.max_values (most lag first keep their names); several standbys or
  // slots under the same labels report the worst of them (most lag, inactive, most WAL retained).
  std::vector<core::StandbyLag> standbys;
  std::vector<core::SlotState> slots;
  std::map<std::pair<std::string, std::string>, long> replicas;  // (state, sync_state) -> count
  std::map<std::string, std::size_t> folded;
};

ReplicationSummary summarize_replication(const ReplicationRows& rows, std::size_t label_limit);
Families replication_families(const ReplicationSummary& summary);
core::ReplicationDetails replication_details(ReplicationRows rows);

// Not applicable on a standby. Thread-safety and ownership: as every Collector.
class ReplicationCollector : public Collector {
 public:
  Applicability applicability(PollContext& context) override;
  CollectorOutput collect(PollContext& context) override;
};

// "standby" / "primary" from pg_is_in_recovery(), for the primary-only and standby-only
// collectors' applicability.
bool in_recovery(PollContext& context);

}  // namespace pgpulse::collectors
