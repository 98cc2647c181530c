#include "collectors/rls_posture.hpp"

#include <algorithm>
#include <iterator>
#include <tuple>

namespace pgpulse::collectors {

std::string_view status_label(RlsStatus status) {
  switch (status) {
    case RlsStatus::Protected:
      return "protected";
    case RlsStatus::Forced:
      return "forced";
    case RlsStatus::EnabledNoPolicy:
      return "enabled_no_policy";
    case RlsStatus::PoliciesButDisabled:
      return "policies_but_disabled";
    case RlsStatus::Unprotected:
      return "unprotected";
    case RlsStatus::NotTenant:
      break;
  }
  return "not_tenant";
}

std::string_view change_label(PolicyChangeKind kind) {
  switch (kind) {
    case PolicyChangeKind::Added:
      return "added";
    case PolicyChangeKind::Removed:
      return "removed";
    case PolicyChangeKind::Altered:
      break;
  }
  return "altered";
}

TenantRule::TenantRule(const std::vector<std::string>& table_patterns) {
  for (const auto& pattern : table_patterns) patterns_.emplace_back(pattern);
}

bool TenantRule::is_tenant(const TableRow& row) const {
  return row.has_tenant_column || named(row);
}

bool TenantRule::named(const TableRow& row) const {
  if (patterns_.empty()) return false;  // the usual case: no "schema.table" string to build
  std::string qualified = row.schema + "." + row.table;
  return std::any_of(patterns_.begin(), patterns_.end(), [&](const std::regex& pattern) {
    return std::regex_match(qualified, pattern);
  });
}

RlsStatus classify(const TableRow& row, bool tenant) {
  if (row.rls_enabled) {
    if (row.policies == 0) return RlsStatus::EnabledNoPolicy;
    return row.rls_forced ? RlsStatus::Forced : RlsStatus::Protected;
  }
  if (row.policies > 0) return RlsStatus::PoliciesButDisabled;
  return tenant ? RlsStatus::Unprotected : RlsStatus::NotTenant;
}

DatabasePosture assess_database(const std::vector<TableRow>& rows, const TenantRule& rule) {
  DatabasePosture posture;
  for (auto status : kAllStatuses) posture.tables[status] = 0;
  // Tenant tables are sorted as (row, status) pairs, then copied once into a vector of the exact
  // size: no string copies while sorting, no reallocations.
  struct Tenant {
    const TableRow* row;
    RlsStatus status;
    bool in_force;
  };
  std::vector<Tenant> tenants;
  for (const auto& row : rows) {
    bool tenant = rule.is_tenant(row);
    auto status = classify(row, tenant);
    ++posture.tables[status];
    posture.policies += row.policies;
    posture.uses_rls = posture.uses_rls || row.rls_enabled || row.policies > 0 || rule.named(row);
    if (!tenant) continue;
    bool in_force = rls_in_force(status);
    if (!in_force) ++posture.unprotected_tenant_tables;
    tenants.push_back({&row, status, in_force});
  }
  std::sort(tenants.begin(), tenants.end(), [](const Tenant& a, const Tenant& b) {
    return std::tie(a.in_force, a.row->schema, a.row->table) <
           std::tie(b.in_force, b.row->schema, b.row->table);
  });
  posture.tenant_tables.reserve(tenants.size());
  for (const auto& t : tenants) {
    posture.tenant_tables.push_back({t.row->schema, t.row->table, t.status});
  }
  return posture;
}

namespace {

bool policy_key_less(const PolicyRow& a, const PolicyRow& b) {
  return std::tie(a.schema, a.table, a.name) < std::tie(b.schema, b.table, b.name);
}

bool same_definition(const PolicyRow& a, const PolicyRow& b) {
  return std::tie(a.permissive, a.cmd, a.roles, a.qual, a.with_check) ==
         std::tie(b.permissive, b.cmd, b.roles, b.qual, b.with_check);
}

// Pointers into rows in (schema, table, name) order: sorting them copies no strings.
std::vector<const PolicyRow*> by_key(const std::vector<PolicyRow>& rows) {
  std::vector<const PolicyRow*> sorted;
  sorted.reserve(rows.size());
  for (const auto& row : rows) sorted.push_back(&row);
  std::sort(sorted.begin(), sorted.end(),
            [](const PolicyRow* a, const PolicyRow* b) { return policy_key_less(*a, *b); });
  return sorted;
}

PolicyChange change(PolicyChangeKind kind, const PolicyRow& row) {
  return {kind, row.schema, row.table, row.name};
}

}  // namespace

std::vector<PolicyChange> diff_policies(const std::vector<PolicyRow>& before,
                                        const std::vector<PolicyRow>& after) {
  auto old_rows = by_key(before), new_rows = by_key(after);
  std::vector<PolicyChange> changes, removed;
  auto old_it = old_rows.begin();
  for (const PolicyRow* row : new_rows) {  // one merge walk over both sorted lists
    for (; old_it != old_rows.end() && policy_key_less(**old_it, *row); ++old_it) {
      removed.push_back(change(PolicyChangeKind::Removed, **old_it));
    }
    if (old_it != old_rows.end() && !policy_key_less(*row, **old_it)) {  // same key
      if (!same_definition(*row, **old_it))
        changes.push_back(change(PolicyChangeKind::Altered, *row));
      ++old_it;
    } else {
      changes.push_back(change(PolicyChangeKind::Added, *row));
    }
  }
  for (; old_it != old_rows.end(); ++old_it) {
    removed.push_back(change(PolicyChangeKind::Removed, **old_it));
  }
  changes.insert(changes.end(), std::make_move_iterator(removed.begin()),
                 std::make_move_iterator(removed.end()));
  return changes;
}

std::vector<SeqScanCandidate> seq_scan_candidates(const std::vector<TableRow>& rows,
                                                  const ScanCounters& previous,
                                                  const SeqScanRule& rule) {
  std::vector<SeqScanCandidate> candidates;
  for (const auto& row : rows) {
    if (!row.has_stats || row.size_bytes < rule.min_table_bytes) continue;
    SeqScanCandidate c{row.schema,        row.table, row.size_bytes, row.seq_scan, row.seq_tup_read,
                       row.idx_tup_fetch, 0};
    auto it = previous.find({row.schema, row.table});
    if (it != previous.end() && row.seq_tup_read >= it->second.seq_tup_read &&
        row.idx_tup_fetch >= it->second.idx_tup_fetch && row.seq_scan >= it->second.seq_scan) {
      c.seq_scan -= it->second.seq_scan;
      c.seq_tup_read -= it->second.seq_tup_read;
      c.idx_tup_fetch -= it->second.idx_tup_fetch;
    }
    double fetched = static_cast<double>(c.seq_tup_read + c.idx_tup_fetch);
    if (c.seq_scan == 0 || fetched == 0) continue;
    c.ratio = c.seq_tup_read / fetched;
    if (c.ratio >= rule.min_ratio) candidates.push_back(std::move(c));
  }
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return std::tie(b.seq_tup_read, a.schema, a.table) <
           std::tie(a.seq_tup_read, b.schema, b.table);
  });
  return candidates;
}

ScanCounters counters_to_keep(const std::vector<TableRow>& rows, const SeqScanRule& rule) {
  ScanCounters counters;
  for (const auto& row : rows) {
    if (row.has_stats && row.size_bytes >= rule.min_table_bytes) {
      counters[{row.schema, row.table}] =
          SeqCounters{row.seq_scan, row.seq_tup_read, row.idx_tup_fetch};
    }
  }
  return counters;
}

}  // namespace pgpulse::collectors
