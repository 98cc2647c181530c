#pragma once
// The `rls` collector: visits every database of the target (one short connection at a time, the
// main connection for its own database), reads pg_class/pg_policy/pg_attribute and the table
// statistics, and reports RLS posture, policy drift, RLS-bypassing roles and seq-scan-heavy tables.
#include <map>
#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/rls_posture.hpp"

namespace pgpulse::collectors {

struct RlsOptions {
  std::vector<std::string> tenant_columns{"tenant_id"};
  std::vector<std::string> tenant_tables;  // regexes over schema.table
  std::vector<std::string> include_databases, exclude_databases;
  std::size_t max_table_series = 500;
  SeqScanRule seq_scan;
  std::size_t seq_scan_top_n = 20;
};

// Databases to visit: connectable ones, narrowed by include/exclude lists.
std::vector<std::string> select_databases(const std::vector<std::string>& available,
                                          const RlsOptions& options);

extern const char* const kRlsClusterSql;
extern const char* const kRlsTablesSql;
extern const char* const kRlsPoliciesSql;

class RlsCollector : public Collector {
 public:
  explicit RlsCollector(RlsOptions options)
      : options_(std::move(options)), rule_(options_.tenant_tables) {}
  CollectorOutput collect(PollContext& context) override;

 private:
  CollectorOutput collect_scans(PollContext& context);
  struct DatabaseState {
    bool has_baseline = false;
    std::vector<PolicyRow> policies;
    ScanCounters counters;
    std::map<PolicyChangeKind, double> changes;
  };
  struct DatabaseScan {
    std::string datname;
    bool ok = false;
    std::string error;
    DatabasePosture posture;
    std::vector<SeqScanCandidate> seq_scan;
    std::size_t tables = 0;
  };
  DatabaseScan scan(pg::Connection& connection, const pg::Interrupter& interrupter,
                    const std::string& datname);

  RlsOptions options_;
  TenantRule rule_;
  std::map<std::string, DatabaseState> databases_;
};

}  // namespace pgpulse::collectors
