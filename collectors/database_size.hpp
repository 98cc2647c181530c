#pragma once
// The `database_size` collector: pg_database_size() of every database, on its own longer interval
// (default 5m) because it stats every file of every database (seconds on a server with many
// relations), unlike the `database` collector's counters.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/collector.hpp"

namespace pgpulse::collectors {

struct DatabaseSizeRow {
  std::string datname;
  std::optional<long long> bytes;  // absent when the role may not read it
};

struct DatabaseSizeSummary {
  std::map<std::string, double> bytes;  // folded datname -> bytes (summed over folded ones)
  std::size_t folded = 0;
  std::size_t unreadable = 0;  // databases whose size the role may not read
};

// The largest databases keep their name; the rest fold into "other".
DatabaseSizeSummary summarize_database_sizes(const std::vector<DatabaseSizeRow>& rows,
                                             std::size_t label_limit);
Families database_size_families(const DatabaseSizeSummary& summary);

extern const char* const kDatabaseSizeSql;

// Thread-safety and ownership: as every Collector (one poller thread, no state kept).
class DatabaseSizeCollector : public Collector {
 public:
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
