#pragma once
// PgBouncer's per-database totals (SHOW STATS): queries and transactions served and the time
// spent in them and waiting for a server connection, as counters since PgBouncer started.
//
// Thread-safety: like every collector, called from its target's poller thread only.
#include <map>
#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/pgbouncer_show.hpp"

namespace pgpulse::collectors {

struct PgBouncerStatsRow {
  std::string database;
  double queries = 0;
  double transactions = 0;
  double query_seconds = 0;  // total_query_time, microseconds in SHOW STATS
  double transaction_seconds = 0;
  double wait_seconds = 0;  // total_wait_time: clients waiting for a server connection
};

std::vector<PgBouncerStatsRow> parse_pgbouncer_stats(const ShowTable& stats);

struct PgBouncerStatsSummary {
  std::vector<PgBouncerStatsRow> databases;  // folded: "other" sums the rest
  std::map<std::string, std::size_t> folded_values;
};

// The busiest databases (by queries) keep their names; the admin console is left out.
PgBouncerStatsSummary summarize_pgbouncer_stats(const std::vector<PgBouncerStatsRow>& rows,
                                                std::size_t label_limit);
Families pgbouncer_stats_families(const PgBouncerStatsSummary& summary);

class PgBouncerStatsCollector : public Collector {
 public:
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
