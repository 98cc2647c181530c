#pragma once
// What the rls collector's catalog scan tells its readers: tenant tables without RLS in force,
// roles that bypass RLS, seq-scan-heavy tables, and how the scan of each database went.
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgpulse::core {

struct UnprotectedTable {
  std::string datname, schema, table;
  std::string status;  // policies_but_disabled or unprotected (docs/signals.md)
};

struct SeqScanHeavyTable {
  std::string datname, schema, table;
  long long size_bytes = 0;
  long long seq_scan = 0, seq_tup_read = 0, idx_tup_fetch = 0;  // since the previous scan
  double seq_ratio = 0;
};

struct BypassRole {
  std::string rolname;
  std::string reason;   // superuser or bypassrls
  bool exempt = false;  // in rls.exempt_roles: expected (postgres, rdsadmin, ...), not a finding
};

struct DatabaseScan {
  std::string datname;
  bool ok = false;
  std::string error;  // why the scan of this database failed; "" when ok
  std::size_t tables = 0;
  // RLS in use here: a policy, a table with RLS enabled, or a table rls.tenant_tables names.
  bool uses_rls = false;
  // Whether its tenant tables are judged (rls.scope all, or RLS in use here).
  bool judged = true;
  std::size_t tenant_tables = 0;  // tables with a tenant column (or named by rls.tenant_tables)
  // The settings its policies read (current_setting('app.current_tenant_id')), for the advice;
  // read only when a tenant table needs it.
  std::vector<std::string> tenant_settings;
};

// A policy added, removed or altered, kept for rls.drift_window after it was seen.
struct PolicyChangeEvent {
  std::string datname, schema, table, policy;
  std::string change;  // added, removed or altered
  double seen_at_unix = 0;
};

struct RlsDetails {
  std::string scope = "in_use";                             // rls.scope
  std::vector<UnprotectedTable> unprotected_tenant_tables;  // in judged databases only
  std::vector<SeqScanHeavyTable> seq_scan_heavy;
  std::vector<BypassRole> bypass_roles;
  bool monitoring_role_superuser = false;
  std::vector<DatabaseScan> databases;
  std::vector<PolicyChangeEvent> recent_policy_changes;  // newest last
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(UnprotectedTable, datname, schema, table, status)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SeqScanHeavyTable, datname, schema, table, size_bytes, seq_scan,
                                   seq_tup_read, idx_tup_fetch, seq_ratio)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BypassRole, rolname, reason, exempt)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DatabaseScan, datname, ok, error, tables, uses_rls, judged,
                                   tenant_tables, tenant_settings)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PolicyChangeEvent, datname, schema, table, policy, change,
                                   seen_at_unix)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RlsDetails, scope, unprotected_tenant_tables, seq_scan_heavy,
                                   bypass_roles, monitoring_role_superuser, databases,
                                   recent_policy_changes)

}  // namespace pgpulse::core
