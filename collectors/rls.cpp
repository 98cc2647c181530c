#include "collectors/rls.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/time.hpp"

namespace pgpulse::collectors {

// The databases to visit come from the scanner; this reads who bypasses RLS, cluster-wide.
const char* const kRlsClusterSql = R"SQL(
SELECT 'bypass' AS kind, rolname AS name, rolsuper AS super, rolbypassrls AS bypass
  FROM pg_catalog.pg_roles
 WHERE rolcanlogin AND (rolsuper OR rolbypassrls)
UNION ALL
SELECT 'self', current_database(), rolsuper, rolbypassrls FROM pg_catalog.pg_roles
 WHERE rolname = current_user)SQL";

// One pass over pg_class for the whole database. Sizes come from relpages (maintained by VACUUM
// and ANALYZE): pg_relation_size() would take a lock on each table and wait behind a migration's
// ACCESS EXCLUSIVE lock until lock_timeout, failing the whole database's scan.
// $1: tenant column names, $2: seq_scan.min_table_bytes. Cheaper than joining pg_stat_user_tables,
// which calls about 20 pgstat functions per table and aggregates pg_index over a second pg_class
// scan: the three counters seq_scan_candidates() uses are read by calling the functions that view
// calls, and only for tables large enough to be candidates (NULL, read as 0, below). has_stats is
// what a pg_stat_user_tables row would say: every table, and partitioned ones from PostgreSQL 15.
// The tenant column is probed per table through pg_attribute's (attrelid, attname) index rather
// than by filtering every column of the database: LIMIT 1 keeps the planner from turning the probe
// into a hashed seq scan of pg_attribute, which it prefers (as for EXISTS) and which costs about
// 1.5 times as much at 10,000 tables (see docs/benchmarks.md).
const char* const kRlsTablesSql = R"SQL(
WITH pol AS (SELECT polrelid, count(*) AS n FROM pg_catalog.pg_policy GROUP BY polrelid)
SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity, coalesce(pol.n, 0),
       tenant.found IS NOT NULL, t.bytes,
       c.relkind = 'r' OR (SELECT current_setting('server_version_num')::int >= 150000),
       CASE WHEN t.bytes >= $2::bigint THEN pg_catalog.pg_stat_get_numscans(c.oid) END,
       CASE WHEN t.bytes >= $2::bigint THEN pg_catalog.pg_stat_get_tuples_returned(c.oid) END,
       CASE WHEN t.bytes >= $2::bigint THEN
         (SELECT sum(pg_catalog.pg_stat_get_tuples_fetched(i.indexrelid))::bigint
            FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid)
         + pg_catalog.pg_stat_get_tuples_fetched(c.oid) END
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (SELECT c.relpages::bigint * (SELECT current_setting('block_size')::bigint)
                           AS bytes) t
LEFT JOIN pol ON pol.polrelid = c.oid
LEFT JOIN LATERAL (SELECT true AS found FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = ANY ($1::name[])
                      AND a.attnum > 0 AND NOT a.attisdropped LIMIT 1) tenant ON true
WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema'
  AND n.nspname !~ '^pg_')SQL";

// pg_policy itself rather than the pg_policies view, which deparses every USING and WITH CHECK
// expression with pg_get_expr() (two thirds of this query's server time at 2,000 policies) only
// for diff_policies() to compare it with the previous scan's. md5 digests of the stored node
// trees compare just as well, with one trade-off: node trees carry the token locations of the
// CREATE/ALTER POLICY text, so re-creating a policy with the same expression written with
// different whitespace counts as altered. The other way round, renaming a column or function the
// expression uses no longer does (the tree refers to them by number and oid), and a major version
// upgrade, which changes the tree format, shows every policy altered once. Roles are sorted by oid
// so that the same set of roles always reads the same, as pg_policies' sorted names did.
const char* const kRlsPoliciesSql = R"SQL(
SELECT n.nspname, c.relname, p.polname, p.polpermissive, p.polcmd,
       CASE WHEN 0::oid = ANY (p.polroles) THEN 'public'
            ELSE (SELECT string_agg(r::pg_catalog.regrole::text, ',' ORDER BY r)
                    FROM unnest(p.polroles) r) END,
       coalesce(md5(p.polqual::text), ''), coalesce(md5(p.polwithcheck::text), '')
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace)SQL";

// The settings policies read the tenant from (current_setting('app.current_tenant_id')), so the
// advice for an unprotected table names the one this database uses.
const char* const kRlsTenantSettingsSql = R"SQL(
SELECT DISTINCT m[1]
FROM pg_catalog.pg_policy p
CROSS JOIN LATERAL regexp_matches(
    coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') || ' ' ||
    coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), ''),
    'current_setting\(\s*''([^'']+)''', 'g') AS m
ORDER BY 1 LIMIT 5)SQL";

namespace {

std::string name_array(const std::vector<std::string>& names) {
  std::string out = "{";
  for (const auto& name : names) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : name) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::vector<TableRow> read_tables(const pg::Result& tables) {
  std::vector<TableRow> rows;
  rows.reserve(static_cast<std::size_t>(tables.rows()));
  for (int r = 0; r < tables.rows(); ++r) {
    TableRow& row = rows.emplace_back();
    row.schema = tables.text(r, 0);
    row.table = tables.text(r, 1);
    row.rls_enabled = tables.boolean(r, 2);
    row.rls_forced = tables.boolean(r, 3);
    row.policies = static_cast<long>(tables.integer(r, 4));
    row.has_tenant_column = tables.boolean(r, 5);
    row.size_bytes = tables.integer(r, 6);
    row.has_stats = tables.boolean(r, 7);
    row.seq_scan = tables.integer(r, 8);  // NULL (0) below seq_scan.min_table_bytes
    row.seq_tup_read = tables.integer(r, 9);
    row.idx_tup_fetch = tables.integer(r, 10);
  }
  return rows;
}

std::vector<PolicyRow> read_policies(const pg::Result& policies) {
  std::vector<PolicyRow> rows;
  rows.reserve(static_cast<std::size_t>(policies.rows()));
  for (int r = 0; r < policies.rows(); ++r) {
    PolicyRow& row = rows.emplace_back();
    row.schema = policies.text(r, 0);
    row.table = policies.text(r, 1);
    row.name = policies.text(r, 2);
    row.permissive = policies.boolean(r, 3);
    auto cmd = policies.text(r, 4);
    row.cmd = cmd.empty() ? '?' : cmd.front();
    row.roles = policies.text(r, 5);
    row.qual = policies.text(r, 6);
    row.with_check = policies.text(r, 7);
  }
  return rows;
}

}  // namespace

std::vector<std::string> select_databases(const std::vector<std::string>& available,
                                          const config::RlsConfig& options) {
  std::vector<std::string> selected;
  auto listed = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (const auto& name : available) {
    if (!options.include_databases.empty() && !listed(options.include_databases, name)) continue;
    if (listed(options.exclude_databases, name)) continue;
    selected.push_back(name);
  }
  std::sort(selected.begin(), selected.end());
  return selected;
}

DatabaseScanResult RlsCollector::scan(pg::Connection& connection,
                                      const pg::Interrupter& interrupter,
                                      const std::string& datname) {
  DatabaseScanResult result;
  result.datname = datname;
  // Each libpq result is parsed and released before the next query: the one of a 10,000-table
  // database (3.3 MB) must not be alive with the policies, the posture or the next result.
  std::vector<TableRow> rows = read_tables(connection.query(
      kRlsTablesSql, interrupter,
      {name_array(options_.tenant_columns), std::to_string(options_.seq_scan.min_table_bytes)}));
  std::vector<PolicyRow> policies = read_policies(connection.query(kRlsPoliciesSql, interrupter));
  auto& state = databases_[datname];
  for (auto kind :
       {PolicyChangeKind::Added, PolicyChangeKind::Removed, PolicyChangeKind::Altered}) {
    state.changes[kind];  // every change label exists from the first scan, at 0
  }
  double now = core::unix_now();
  if (state.has_baseline) {
    for (const auto& change : diff_policies(state.policies, policies)) {
      state.changes[change.kind] += 1;
      state.recent.push_back({datname, change.schema, change.table, change.name,
                              std::string(change_label(change.kind)), now});
      spdlog::warn("RLS policy {} on database {}: policy \"{}\" on table {}.{}",
                   change_label(change.kind), datname, change.name, change.schema, change.table);
    }
  }
  double window = std::chrono::duration<double>(options_.drift_window).count();
  while (!state.recent.empty() && state.recent.front().seen_at_unix < now - window) {
    state.recent.pop_front();
  }
  state.policies = std::move(policies);
  state.has_baseline = true;
  result.seq_scan = seq_scan_candidates(rows, state.counters, options_.seq_scan);
  state.counters = counters_to_keep(rows, options_.seq_scan);
  result.posture = assess_database(rows, rule_);
  result.tables = rows.size();
  result.changes = state.changes;
  result.recent_changes.assign(state.recent.begin(), state.recent.end());
  result.judged = options_.scope == "all" || result.posture.uses_rls;
  if (result.judged && result.posture.unprotected_tenant_tables > 0 &&
      result.posture.policies > 0) {
    // Only when the advice needs it: pg_get_expr() on every policy is this scan's costliest part.
    auto settings = connection.query(kRlsTenantSettingsSql, interrupter);
    for (int r = 0; r < settings.rows(); ++r)
      result.tenant_settings.emplace_back(settings.text(r, 0));
  }
  result.ok = true;
  return result;
}

void RlsCollector::begin_scan(VisitContext& home) {
  scan_ = ClusterScan{};
  auto cluster = home.query(kRlsClusterSql);
  int kind_column = cluster.column_index("kind"), name_column = cluster.column_index("name"),
      super_column = cluster.column_index("super");
  for (int r = 0; r < cluster.rows(); ++r) {
    std::string kind(cluster.text(r, kind_column)), name(cluster.text(r, name_column));
    if (kind == "bypass") {
      bool exempt = std::find(options_.exempt_roles.begin(), options_.exempt_roles.end(), name) !=
                    options_.exempt_roles.end();
      scan_.bypass_roles.push_back(
          {name, cluster.boolean(r, super_column) ? "superuser" : "bypassrls", exempt});
    } else {
      scan_.self_superuser = cluster.boolean(r, super_column);
    }
  }
}

bool RlsCollector::wants(const std::string& datname) const {
  return !select_databases({datname}, options_).empty();
}

void RlsCollector::visit(VisitContext& database) {
  scan_.databases.push_back(scan(database.connection, database.interrupter, database.datname));
}

void RlsCollector::visit_failed(const std::string& datname, const std::string& reason) {
  DatabaseScanResult failed;
  failed.datname = datname;
  failed.error = reason;
  scan_.databases.push_back(std::move(failed));
}

std::size_t RlsCollector::failed_parts() const {
  return static_cast<std::size_t>(std::count_if(scan_.databases.begin(), scan_.databases.end(),
                                                [](const auto& d) { return !d.ok; }));
}

CollectorOutput RlsCollector::end_scan(std::size_t label_limit) {
  std::sort(scan_.databases.begin(), scan_.databases.end(),
            [](const auto& a, const auto& b) { return a.datname < b.datname; });
  for (auto it = databases_.begin(); it != databases_.end();) {  // dropped databases
    bool present = std::any_of(scan_.databases.begin(), scan_.databases.end(),
                               [&](const DatabaseScanResult& s) { return s.datname == it->first; });
    it = present ? std::next(it) : databases_.erase(it);
  }
  return rls_report(scan_, options_, label_limit);
}

}  // namespace pgpulse::collectors
