#pragma once
// Row-level security posture of one database, policy drift between scans, and sequential-scan
// heavy tables. Pure: catalog rows in, findings out.
#include <map>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace pgpulse::collectors {

struct TableRow {
  std::string schema;
  std::string table;
  bool rls_enabled = false;  // relrowsecurity
  bool rls_forced = false;   // relforcerowsecurity
  long policies = 0;
  bool has_tenant_column = false;
  long long size_bytes = 0;
  bool has_stats = false;  // pg_stat_user_tables has a row (partitioned parents only from PG 15)
  // Cumulative counters, as pg_stat_user_tables reports them. The catalog query reads them only
  // for tables of at least seq_scan.min_table_bytes (0 below): nothing else looks at them.
  long long seq_scan = 0, seq_tup_read = 0, idx_tup_fetch = 0;
};

enum class RlsStatus {
  Protected,
  Forced,
  EnabledNoPolicy,
  PoliciesButDisabled,
  Unprotected,
  NotTenant
};
inline constexpr RlsStatus kAllStatuses[] = {
    RlsStatus::Protected,           RlsStatus::Forced,      RlsStatus::EnabledNoPolicy,
    RlsStatus::PoliciesButDisabled, RlsStatus::Unprotected, RlsStatus::NotTenant};
std::string_view status_label(RlsStatus status);

// Which tables are tenant-scoped: a tenant column (found by the catalog query) or a name match.
class TenantRule {
 public:
  explicit TenantRule(const std::vector<std::string>& table_patterns);
  bool is_tenant(const TableRow& row) const;
  bool named(const TableRow& row) const;  // matched by a rls.tenant_tables pattern

 private:
  std::vector<std::regex> patterns_;
};

RlsStatus classify(const TableRow& row, bool tenant);

// False for the statuses where a tenant table's rows are visible to every tenant.
inline bool rls_in_force(RlsStatus status) {
  return status != RlsStatus::PoliciesButDisabled && status != RlsStatus::Unprotected;
}

struct TenantTable {
  std::string schema, table;
  RlsStatus status;
  bool rls_in_force() const { return collectors::rls_in_force(status); }
};

struct DatabasePosture {
  std::map<RlsStatus, long> tables;  // every status present, zeros included
  long policies = 0;
  long unprotected_tenant_tables = 0;      // tenant tables with RLS off, policies or not
  std::vector<TenantTable> tenant_tables;  // unprotected first, then by name
  // RLS in use: a policy, a table with RLS enabled, or a table rls.tenant_tables names.
  bool uses_rls = false;
};

DatabasePosture assess_database(const std::vector<TableRow>& rows, const TenantRule& rule);

// One pg_policy row, in a form that is cheap to read and to compare across scans.
struct PolicyRow {
  std::string schema, table, name;
  bool permissive = true;  // polpermissive (false: RESTRICTIVE)
  char cmd = '*';          // polcmd: r (SELECT), a (INSERT), w (UPDATE), d (DELETE), * (ALL)
  std::string roles;       // role names in role-oid order, comma-separated; "public" for PUBLIC
  // md5 of the USING and WITH CHECK node trees (polqual::text, polwithcheck::text), "" when
  // absent. Digests of the stored trees, not of deparsed text: see kRlsPoliciesSql.
  std::string qual, with_check;
};

enum class PolicyChangeKind { Added, Removed, Altered };
std::string_view change_label(PolicyChangeKind kind);

struct PolicyChange {
  PolicyChangeKind kind;
  std::string schema, table, name;
};

// What changed from one scan to the next, by (schema, table, policy name); altered means any of
// permissive, roles, command, USING or WITH CHECK differs. Added and altered policies come first,
// then removed ones, each in (schema, table, name) order.
std::vector<PolicyChange> diff_policies(const std::vector<PolicyRow>& before,
                                        const std::vector<PolicyRow>& after);

// The seq_scan config section: min_table_bytes, min_ratio (and top_n, for the report).
using SeqScanRule = config::SeqScanConfig;

struct SeqScanCandidate {
  std::string schema, table;
  long long size_bytes = 0;
  long long seq_scan = 0, seq_tup_read = 0, idx_tup_fetch = 0;  // since the previous scan
  double ratio = 0;  // seq_tup_read / (seq_tup_read + idx_tup_fetch)
};

struct SeqCounters {
  long long seq_scan = 0, seq_tup_read = 0, idx_tup_fetch = 0;
};
// Kept between scans for tables large enough to be candidates only: 100 databases of 10,000
// tables must not cost a million map entries.
using ScanCounters = std::map<std::pair<std::string, std::string>, SeqCounters>;

ScanCounters counters_to_keep(const std::vector<TableRow>& rows, const SeqScanRule& rule);

// Tables at least min_table_bytes large where sequential scans read at least min_ratio of the
// rows fetched since the previous scan (cumulative counters on the first scan or after a stats
// reset). Heaviest (most rows read sequentially) first.
std::vector<SeqScanCandidate> seq_scan_candidates(const std::vector<TableRow>& rows,
                                                  const ScanCounters& previous,
                                                  const SeqScanRule& rule);

}  // namespace pgpulse::collectors
