#pragma once
// The `wal` collector: WAL generated, from pg_stat_wal (PostgreSQL 14+; not applicable on 13,
// which has no such view): bytes, records, full-page images, and waits for a full WAL buffer.
#include "collectors/collector.hpp"

namespace pgpulse::collectors {

struct WalRow {
  long long bytes = 0, records = 0, full_page_images = 0, buffers_full = 0;
};

inline constexpr int kWalStatsMinVersion = 140000;
extern const char* const kWalSql;
WalRow parse_wal(const pg::Result& result);
Families wal_families(const WalRow& row);

// Thread-safety and ownership: as every Collector (one poller thread, no state kept).
class WalCollector : public Collector {
 public:
  Applicability applicability(PollContext& context) override;
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
