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
  std::string reason;  // superuser or bypassrls
};

struct DatabaseScan {
  std::string datname;
  bool ok = false;
  std::string error;  // why the scan of this database failed; "" when ok
  std::size_t tables = 0;
};

struct RlsDetails {
  std::vector<UnprotectedTable> unprotected_tenant_tables;
  std::vector<SeqScanHeavyTable> seq_scan_heavy;
  std::vector<BypassRole> bypass_roles;
  bool monitoring_role_superuser = false;
  std::vector<DatabaseScan> databases;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(UnprotectedTable, datname, schema, table, status)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SeqScanHeavyTable, datname, schema, table, size_bytes, seq_scan,
                                   seq_tup_read, idx_tup_fetch, seq_ratio)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BypassRole, rolname, reason)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DatabaseScan, datname, ok, error, tables)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RlsDetails, unprotected_tenant_tables, seq_scan_heavy,
                                   bypass_roles, monitoring_role_superuser, databases)

}  // namespace pgpulse::core
