#pragma once
// The `standby` collector, on a standby: pgpulse_in_recovery 1, how far behind replay is (in
// seconds, 0 when everything received is replayed; in bytes), how far behind receiving is, and
// the WAL receiver's status. Not applicable on a primary; asked again at every reconnect.
//
// postgres_exporter's pg_replication_lag is now() - pg_last_xact_replay_timestamp(), which grows
// without bound on the standby of an idle primary (its issues #385, #977): nothing to replay is
// not lag. Here the time only counts while received WAL waits to be replayed.
#include <optional>
#include <string>

#include "collectors/collector.hpp"
#include "core/details/replication.hpp"

namespace pgpulse::collectors {

struct StandbyRow {
  bool in_recovery = true;
  std::optional<long long> received, replayed;  // LSNs as bytes; absent when never
  double last_replay = 0;                       // epoch of the last replayed commit, NaN if none
  double now = 0;
  std::string receiver_status;  // "" when no WAL receiver runs
  std::optional<long long> receiver_flushed, receiver_latest_end;
  double last_message = 0;  // epoch of the last message from the primary, NaN if none
};

// 0 when everything received is replayed; else the age of the last replayed commit; absent when
// nothing says (no commit replayed yet while WAL waits).
std::optional<double> standby_replay_lag(const StandbyRow& row);
core::StandbyDetails summarize_standby(const StandbyRow& row);
Families standby_families(const core::StandbyDetails& details, bool in_recovery);

// WAL receiver states as pg_stat_wal_receiver names them, and "stopped" when none runs.
inline constexpr const char* kWalReceiverStatuses[] = {"stopped", "starting",   "streaming",
                                                       "waiting", "restarting", "stopping"};

extern const char* const kStandbySql;
StandbyRow parse_standby(const pg::Result& result);

// Not applicable on a primary. A standby promoted while connected reports pgpulse_in_recovery 0
// and nothing else until the next reconnect re-assesses every collector.
// Thread-safety and ownership: as every Collector.
class StandbyCollector : public Collector {
 public:
  Applicability applicability(PollContext& context) override;
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
