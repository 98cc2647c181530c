#pragma once
// The `database` collector: per-database activity counters from pg_stat_database (commits,
// rollbacks, deadlocks, temp spill, block reads, conflicts, checksum failures, and on 14+ how
// sessions ended and where their time went) and how close each database is to transaction ID
// wraparound (age(datfrozenxid), mxid_age(datminmxid)). One query over pg_database per poll; the
// slow pg_database_size() is the separate `database_size` collector.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "core/details/database.hpp"

namespace pgpulse::collectors {

struct SessionCounters {  // pg_stat_database, PostgreSQL 14+
  double session_seconds = 0, active_seconds = 0, idle_in_transaction_seconds = 0;
  long long sessions = 0, abandoned = 0, fatal = 0, killed = 0;
};

struct DatabaseRow {
  std::string datname;
  long long xact_commit = 0, xact_rollback = 0, blks_read = 0, blks_hit = 0, conflicts = 0,
            temp_files = 0, temp_bytes = 0, deadlocks = 0;
  std::optional<long long> checksum_failures;  // NULL (absent) when data checksums are off
  std::optional<SessionCounters> sessions;     // absent before PostgreSQL 14
  long long xid_age = 0, mxid_age = 0;
};

// The IDs a server can hand out before wrapping around: at age 2^31 it stops assigning them.
inline constexpr double kWraparoundLimit = 2147483648.0;
double wraparound_ratio(long long age);

struct DatabaseSummary {
  // By datname folded to labels.max_values (the busiest databases keep their name): counters and
  // sessions summed over the folded ones, ages their maximum (the worst stays visible).
  std::map<std::string, DatabaseRow> databases;
  std::size_t folded = 0;
  double xid_wraparound_ratio = 0, mxid_wraparound_ratio = 0;
};

DatabaseSummary summarize_databases(const std::vector<DatabaseRow>& rows, std::size_t label_limit);
Families database_families(const DatabaseSummary& summary);
core::DatabaseDetails database_details(const std::vector<DatabaseRow>& rows);

// The SQL for a server version (the session columns exist from 14), and the row mapping, by name.
const char* database_sql(int server_version);
inline constexpr int kSessionStatsMinVersion = 140000;
std::vector<DatabaseRow> parse_databases(const pg::Result& result, int server_version);

// Thread-safety and ownership: as every Collector (one poller thread, no state kept).
class DatabaseStatsCollector : public Collector {
 public:
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
