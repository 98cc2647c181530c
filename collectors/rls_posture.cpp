#include "collectors/rls_posture.hpp"

#include <algorithm>
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
  if (row.has_tenant_column) return true;
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
  for (const auto& row : rows) {
    bool tenant = rule.is_tenant(row);
    auto status = classify(row, tenant);
    ++posture.tables[status];
    posture.policies += row.policies;
    if (!tenant) continue;
    TenantTable table{row.schema, row.table, status};
    if (!table.rls_in_force()) ++posture.unprotected_tenant_tables;
    posture.tenant_tables.push_back(std::move(table));
  }
  std::sort(posture.tenant_tables.begin(), posture.tenant_tables.end(),
            [](const TenantTable& a, const TenantTable& b) {
              return std::make_tuple(a.rls_in_force(), a.schema, a.table) <
                     std::make_tuple(b.rls_in_force(), b.schema, b.table);
            });
  return posture;
}

std::vector<PolicyChange> diff_policies(const std::vector<PolicyRow>& before,
                                        const std::vector<PolicyRow>& after) {
  using Key = std::tuple<std::string, std::string, std::string>;
  auto index = [](const std::vector<PolicyRow>& rows) {
    std::map<Key, const PolicyRow*> map;
    for (const auto& row : rows) map[{row.schema, row.table, row.name}] = &row;
    return map;
  };
  auto old_index = index(before), new_index = index(after);
  std::vector<PolicyChange> changes;
  for (const auto& [key, row] : new_index) {
    auto it = old_index.find(key);
    if (it == old_index.end()) {
      changes.push_back({PolicyChangeKind::Added, row->schema, row->table, row->name});
    } else if (std::tie(row->permissive, row->roles, row->cmd, row->qual, row->with_check) !=
               std::tie(it->second->permissive, it->second->roles, it->second->cmd,
                        it->second->qual, it->second->with_check)) {
      changes.push_back({PolicyChangeKind::Altered, row->schema, row->table, row->name});
    }
  }
  for (const auto& [key, row] : old_index) {
    if (!new_index.count(key)) {
      changes.push_back({PolicyChangeKind::Removed, row->schema, row->table, row->name});
    }
  }
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
