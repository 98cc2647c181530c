#pragma once
// What the replication (primary) and standby collectors tell their readers: each standby's lag
// and state, each slot's activity and retained WAL, and on a standby how far behind it replays.
// Shape of /diagnose's "replication" step.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace pgpulse::core {

struct StandbyLag {
  std::string application_name, client_addr, state, sync_state;
  double write_lag_seconds = 0, flush_lag_seconds = 0, replay_lag_seconds = 0;
  long long lag_bytes = 0;  // sent_lsn - replay_lsn
};

struct SlotState {
  std::string slot_name, slot_type;
  bool active = false;
  std::optional<long long> retained_bytes;  // pg_current_wal_lsn() - restart_lsn
  std::string wal_status;                   // reserved, extended, unreserved, lost ("" if none)
};

struct ReplicationDetails {          // on a primary
  std::vector<StandbyLag> standbys;  // the real names, most replay lag first
  std::vector<SlotState> slots;      // inactive first, then most retained WAL first
};

struct StandbyDetails {             // on a standby
  std::string wal_receiver_status;  // streaming, starting, waiting, ...; "stopped" when none runs
  std::optional<double> replay_lag_seconds;  // 0 when everything received is replayed
  long long receive_lag_bytes = 0;           // the primary's reported end of WAL - flushed here
  long long replay_lag_bytes = 0;            // received - replayed
  std::optional<double> last_message_age_seconds;  // since the last message from the primary
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StandbyLag, application_name, client_addr, state, sync_state,
                                   write_lag_seconds, flush_lag_seconds, replay_lag_seconds,
                                   lag_bytes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SlotState, slot_name, slot_type, active, retained_bytes,
                                   wal_status)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ReplicationDetails, standbys, slots)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StandbyDetails, wal_receiver_status, replay_lag_seconds,
                                   receive_lag_bytes, replay_lag_bytes, last_message_age_seconds)

}  // namespace pgpulse::core
