#pragma once
// The `checkpoints` collector: checkpoints by what started them (timed, or requested: max_wal_size
// reached, CHECKPOINT, a base backup), time spent writing and syncing, and who wrote dirty
// buffers out (the checkpointer, the background writer, or backends themselves, the slow path).
// pg_stat_bgwriter holds it all up to PostgreSQL 16; from 17 the checkpointer's part is in
// pg_stat_checkpointer and the backends' writes are only in pg_stat_io.
#include <optional>

#include "collectors/collector.hpp"

namespace pgpulse::collectors {

struct CheckpointRow {
  long long timed = 0, requested = 0;
  double write_seconds = 0, sync_seconds = 0;
  long long by_checkpointer = 0, by_bgwriter = 0, by_backend = 0;
  long long maxwritten_clean = 0, buffers_alloc = 0;
};

inline constexpr int kCheckpointerViewMinVersion = 170000;
const char* checkpoints_sql(int server_version);
CheckpointRow parse_checkpoints(const pg::Result& result);
Families checkpoint_families(const CheckpointRow& row);

// Thread-safety and ownership: as every Collector (one poller thread, no state kept).
class CheckpointsCollector : public Collector {
 public:
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
