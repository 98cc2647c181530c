#pragma once
// The `rls` collector: visits every database of the target (one short connection at a time, the
// main connection for its own database), reads pg_class/pg_policy/pg_attribute and the table
// statistics, and reports RLS posture, policy drift, RLS-bypassing roles and seq-scan-heavy tables.
#include <map>
#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/rls_posture.hpp"
#include "collectors/rls_report.hpp"
#include "config/config.hpp"

namespace pgpulse::collectors {

// Databases to visit: connectable ones, narrowed by include/exclude lists.
std::vector<std::string> select_databases(const std::vector<std::string>& available,
                                          const config::RlsConfig& options);

extern const char* const kRlsClusterSql;
extern const char* const kRlsTablesSql;
extern const char* const kRlsPoliciesSql;

class RlsCollector : public Collector {
 public:
  explicit RlsCollector(const config::RlsConfig& options)
      : options_(options), rule_(options_.tenant_tables) {}
  CollectorOutput collect(PollContext& context) override;

 private:
  CollectorOutput collect_scans(PollContext& context);
  // Kept between scans per database: the policies to diff against and the seq-scan counters.
  struct DatabaseState {
    bool has_baseline = false;
    std::vector<PolicyRow> policies;
    ScanCounters counters;
    std::map<PolicyChangeKind, double> changes;
  };
  DatabaseScanResult scan(pg::Connection& connection, const pg::Interrupter& interrupter,
                          const std::string& datname);

  config::RlsConfig options_;
  TenantRule rule_;
  std::map<std::string, DatabaseState> databases_;
};

}  // namespace pgpulse::collectors
