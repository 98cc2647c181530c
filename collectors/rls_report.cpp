#include "collectors/rls_report.hpp"

#include <algorithm>
#include <utility>

namespace pgpulse::collectors {

namespace {

struct ReportFamilies {
  explicit ReportFamilies(Families& families)
      : tables(add_gauge(families, "pgpulse_rls_tables",
                         "Tables by row-level security status (see docs/signals.md).")),
        policies(add_gauge(families, "pgpulse_rls_policies", "Row-level security policies.")),
        unprotected(add_gauge(families, "pgpulse_rls_unprotected_tenant_tables",
                              "Tenant tables on which RLS is not in force (disabled, with or "
                              "without policies).")),
        changes(add_counter(families, "pgpulse_rls_policy_changes_total",
                            "Policies added, removed or altered between consecutive scans.")),
        heavy(add_gauge(families, "pgpulse_seq_scan_heavy_tables",
                        "Tables over seq_scan.min_table_bytes where sequential scans read at "
                        "least seq_scan.min_ratio of the rows since the previous scan.")),
        scanned(add_gauge(families, "pgpulse_rls_database_scan_success",
                          "1 when the last catalog scan of the database succeeded.")),
        table_protected(add_gauge(families, "pgpulse_rls_table_protected",
                                  "1 when RLS is in force on the tenant table, 0 when not "
                                  "(capped at rls.max_table_series, unprotected first).")),
        ratio(add_gauge(families, "pgpulse_seq_scan_heavy_table_ratio",
                        "Share of rows read by sequential scans, top seq_scan.top_n tables.")),
        in_use(add_gauge(families, "pgpulse_rls_in_use",
                         "1 when the database uses row-level security (a policy, a table with "
                         "RLS enabled, or a table rls.tenant_tables names), else 0.")) {}
  Family &tables, &policies, &unprotected, &changes, &heavy, &scanned, &table_protected, &ratio,
      &in_use;
};

}  // namespace

CollectorOutput rls_report(const ClusterScan& scan, const config::RlsConfig& options,
                           std::size_t label_limit) {
  CollectorOutput output;
  core::RlsDetails details;
  details.scope = options.scope;
  ReportFamilies f(output.families);
  std::vector<std::pair<std::string, TenantTable>> tenant_tables;
  std::vector<std::pair<std::string, SeqScanCandidate>> candidates;
  for (const auto& s : scan.databases) {
    LabelPairs db{{"datname", s.datname}};
    add_sample(f.scanned, db, s.ok ? 1 : 0);
    details.databases.push_back({s.datname, s.ok, s.error, s.tables, s.posture.uses_rls, s.judged,
                                 s.posture.tenant_tables.size(), s.tenant_settings});
    if (!s.ok) continue;
    add_sample(f.in_use, db, s.posture.uses_rls ? 1 : 0);
    details.recent_policy_changes.insert(details.recent_policy_changes.end(),
                                         s.recent_changes.begin(), s.recent_changes.end());
    for (const auto& [status, count] : s.posture.tables) {
      add_sample(f.tables, {{"datname", s.datname}, {"status", std::string(status_label(status))}},
                 static_cast<double>(count));
    }
    add_sample(f.policies, db, static_cast<double>(s.posture.policies));
    // Outside rls.scope (a database that never used RLS, scope in_use) tenant tables are not
    // judged: 0 unprotected, and no per-table series.
    add_sample(f.unprotected, db,
               s.judged ? static_cast<double>(s.posture.unprotected_tenant_tables) : 0.0);
    for (const auto& [kind, count] : s.changes) {
      add_sample(f.changes, {{"datname", s.datname}, {"change", std::string(change_label(kind))}},
                 count);
    }
    add_sample(f.heavy, db, static_cast<double>(s.seq_scan.size()));
    if (s.judged) {
      for (const auto& t : s.posture.tenant_tables) tenant_tables.emplace_back(s.datname, t);
    }
    for (const auto& c : s.seq_scan) candidates.emplace_back(s.datname, c);
  }
  std::stable_sort(tenant_tables.begin(), tenant_tables.end(), [](const auto& a, const auto& b) {
    return !a.second.rls_in_force() && b.second.rls_in_force();
  });
  for (std::size_t i = 0; i < tenant_tables.size(); ++i) {
    const auto& [datname, t] = tenant_tables[i];
    if (i < static_cast<std::size_t>(options.max_table_series)) {
      add_sample(f.table_protected,
                 {{"datname", datname}, {"schema", t.schema}, {"table", t.table}},
                 t.rls_in_force() ? 1 : 0);
    }
    if (!t.rls_in_force()) {
      details.unprotected_tenant_tables.push_back(
          {datname, t.schema, t.table, std::string(status_label(t.status))});
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return a.second.seq_tup_read > b.second.seq_tup_read;
  });
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto& [datname, c] = candidates[i];
    if (i < static_cast<std::size_t>(options.seq_scan.top_n)) {
      add_sample(f.ratio, {{"datname", datname}, {"schema", c.schema}, {"table", c.table}},
                 c.ratio);
    }
    details.seq_scan_heavy.push_back({datname, c.schema, c.table, c.size_bytes, c.seq_scan,
                                      c.seq_tup_read, c.idx_tup_fetch, c.ratio});
  }
  add_sample(add_gauge(output.families, "pgpulse_rls_bypass_login_roles",
                       "How many login roles bypass row-level security (superuser or BYPASSRLS), "
                       "the rls.exempt_roles included."),
             {}, static_cast<double>(scan.bypass_roles.size()));
  auto& bypasses = add_gauge(output.families, "pgpulse_rls_bypass_role",
                             "1 per login role that bypasses row-level security and is not in "
                             "rls.exempt_roles (no series for exempt roles); reason is superuser "
                             "or bypassrls (at most labels.max_values roles).");
  std::size_t shown = 0;
  for (const auto& role : scan.bypass_roles) {
    if (role.exempt || shown++ >= label_limit) continue;
    add_sample(bypasses, {{"rolname", role.rolname}, {"reason", role.reason}}, 1);
  }
  details.bypass_roles = scan.bypass_roles;
  add_sample(add_gauge(output.families, "pgpulse_monitoring_role_superuser",
                       "1 when pgpulse itself connects as a superuser (it needs only pg_monitor)."),
             {}, scan.self_superuser ? 1 : 0);
  details.monitoring_role_superuser = scan.self_superuser;
  output.details = core::make_details(std::move(details));
  return output;
}

}  // namespace pgpulse::collectors
