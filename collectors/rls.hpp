#pragma once
// The `rls` collector, per database: on each database's visit it reads pg_class/pg_policy/
// pg_attribute and the table statistics, and reports RLS posture, policy drift, RLS-bypassing
// roles and seq-scan-heavy tables. A database it cannot read is reported, never skipped.
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "collectors/database_collector.hpp"
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
extern const char* const kRlsTenantSettingsSql;

class RlsCollector : public DatabaseCollector {
 public:
  explicit RlsCollector(const config::RlsConfig& options)
      : options_(options), rule_(options_.tenant_tables) {}
  void begin_scan(VisitContext& home) override;
  bool wants(const std::string& datname) const override;
  void visit(VisitContext& database) override;
  void visit_failed(const std::string& datname, const std::string& reason) override;
  CollectorOutput end_scan(std::size_t label_limit) override;
  std::size_t failed_parts() const override;

 private:
  // Kept between scans per database: the policies to diff against and the seq-scan counters.
  struct DatabaseState {
    bool has_baseline = false;
    std::vector<PolicyRow> policies;
    ScanCounters counters;
    std::map<PolicyChangeKind, double> changes;
    std::deque<core::PolicyChangeEvent> recent;  // within rls.drift_window
  };
  DatabaseScanResult scan(pg::Connection& connection, const pg::Interrupter& interrupter,
                          const std::string& datname);

  config::RlsConfig options_;
  TenantRule rule_;
  std::map<std::string, DatabaseState> databases_;
  ClusterScan scan_;  // the scan in progress
};

}  // namespace pgpulse::collectors
