#pragma once
// The rls collector's report, pure: one catalog scan of every database in, metric families and
// the typed details out. Apart from the scanning so the unit tests can build it from made-up rows.
#include <map>
#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/rls_posture.hpp"
#include "config/config.hpp"
#include "core/details/rls.hpp"

namespace pgpulse::collectors {

// One database's scan. ok == false: the database could not be read, and error says why.
struct DatabaseScanResult {
  std::string datname;
  bool ok = false;
  std::string error;
  DatabasePosture posture;
  std::vector<SeqScanCandidate> seq_scan;
  std::size_t tables = 0;
  std::map<PolicyChangeKind, double> changes;  // policy changes counted since pgpulse started
  std::vector<core::PolicyChangeEvent> recent_changes;  // within rls.drift_window
  bool judged = true;                                   // see core::DatabaseScan::judged
  std::vector<std::string> tenant_settings;
};

struct ClusterScan {
  std::vector<DatabaseScanResult> databases;
  std::vector<core::BypassRole> bypass_roles;  // login roles with superuser or BYPASSRLS
  bool self_superuser = false;                 // pgpulse's own role
};

CollectorOutput rls_report(const ClusterScan& scan, const config::RlsConfig& options,
                           std::size_t label_limit);

}  // namespace pgpulse::collectors
