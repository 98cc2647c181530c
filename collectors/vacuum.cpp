#include "collectors/vacuum.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace pgpulse::collectors {

// The statistics functions pg_stat_user_tables calls, only the four needed (the view calls about
// 20 per table). Ordinary tables and materialized views outside the system schemas, as
// pg_stat_user_tables lists them; TOAST tables are vacuumed with their table.
const char* const kVacuumTablesSql = R"SQL(
WITH t AS (
  SELECT n.nspname AS schema, c.relname AS tab,
         pg_catalog.pg_stat_get_live_tuples(c.oid) AS live,
         pg_catalog.pg_stat_get_dead_tuples(c.oid) AS dead,
         date_part('epoch', greatest(pg_catalog.pg_stat_get_last_autovacuum_time(c.oid),
                                     pg_catalog.pg_stat_get_last_vacuum_time(c.oid))) AS last_vacuum
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'm') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
(SELECT * FROM t WHERE dead > 0 ORDER BY dead DESC LIMIT $1::int)
UNION
(SELECT * FROM t WHERE dead > 0 ORDER BY last_vacuum ASC NULLS FIRST LIMIT $1::int))SQL";

double dead_tuple_ratio(long long live, long long dead) {
  if (dead <= 0) return 0;
  return static_cast<double>(dead) / static_cast<double>(std::max(0LL, live) + dead);
}

std::vector<core::VacuumTable> select_vacuum_tables(const std::string& datname,
                                                    const std::vector<VacuumRow>& rows,
                                                    std::size_t top_n, double now) {
  std::vector<const VacuumRow*> with_dead;
  for (const auto& row : rows) {
    if (row.dead > 0) with_dead.push_back(&row);
  }
  auto by_name = [](const VacuumRow* a, const VacuumRow* b) {
    return std::tie(a->schema, a->table) < std::tie(b->schema, b->table);
  };
  std::set<const VacuumRow*> chosen;
  auto most_dead = with_dead;
  std::stable_sort(most_dead.begin(), most_dead.end(), by_name);
  std::stable_sort(most_dead.begin(), most_dead.end(),
                   [](const auto* a, const auto* b) { return a->dead > b->dead; });
  for (std::size_t i = 0; i < most_dead.size() && i < top_n; ++i) chosen.insert(most_dead[i]);
  // Never vacuumed counts as the longest ago.
  auto vacuumed = [](const VacuumRow* r) {
    return std::isfinite(r->last_vacuum) ? r->last_vacuum
                                         : -std::numeric_limits<double>::infinity();
  };
  auto stalest = most_dead;
  std::stable_sort(stalest.begin(), stalest.end(),
                   [&](const auto* a, const auto* b) { return vacuumed(a) < vacuumed(b); });
  for (std::size_t i = 0; i < stalest.size() && i < top_n; ++i) chosen.insert(stalest[i]);
  std::vector<core::VacuumTable> tables;
  for (const auto* row : most_dead) {
    if (!chosen.count(row)) continue;
    core::VacuumTable& t = tables.emplace_back();
    t.datname = datname;
    t.schema = row->schema;
    t.table = row->table;
    t.dead_tuples = row->dead;
    t.live_tuples = row->live;
    t.dead_tuple_ratio = dead_tuple_ratio(row->live, row->dead);
    if (std::isfinite(row->last_vacuum)) {
      t.last_vacuum_age_seconds = std::max(0.0, now - row->last_vacuum);
    }
  }
  return tables;
}

Families vacuum_families(const core::VacuumDetails& details, std::size_t max_table_series) {
  Families families;
  auto& dead =
      add_gauge(families, "pgpulse_table_dead_tuples",
                "Dead tuples (n_dead_tup) of the tables with the most, or with dead "
                "tuples and the longest without a vacuum (top vacuum.top_n per database).");
  auto& ratio = add_gauge(families, "pgpulse_table_dead_tuple_ratio",
                          "n_dead_tup / (n_live_tup + n_dead_tup) of those tables.");
  auto& age = add_gauge(families, "pgpulse_table_last_autovacuum_age_seconds",
                        "Seconds since those tables were last vacuumed, by autovacuum or by hand; "
                        "+Inf when never since the statistics were reset.");
  // details.tables is worst first across the target, so the cap keeps the worst.
  for (std::size_t i = 0; i < details.tables.size() && i < max_table_series; ++i) {
    const auto& t = details.tables[i];
    LabelPairs labels{{"datname", t.datname}, {"schema", t.schema}, {"table", t.table}};
    add_sample(dead, labels, static_cast<double>(t.dead_tuples));
    add_sample(ratio, labels, t.dead_tuple_ratio);
    add_sample(age, labels,
               t.last_vacuum_age_seconds.value_or(std::numeric_limits<double>::infinity()));
  }
  auto& success = add_gauge(families, "pgpulse_vacuum_database_scan_success",
                            "1 when the database's last visit read its table statistics; 0 when "
                            "it could not be read (its tables are unknown, not clean).");
  for (const auto& db : details.databases) {
    add_sample(success, {{"datname", db.datname}}, db.ok ? 1 : 0);
  }
  return families;
}

void VacuumCollector::begin_scan(VisitContext& /*home*/) {
  scan_ = core::VacuumDetails{};
}

void VacuumCollector::visit(VisitContext& database) {
  auto result = database.query(kVacuumTablesSql, {std::to_string(options_.top_n)});
  const int schema = result.column_index("schema"), table = result.column_index("tab"),
            live = result.column_index("live"), dead = result.column_index("dead"),
            last_vacuum = result.column_index("last_vacuum");
  std::vector<VacuumRow> rows;
  for (int r = 0; r < result.rows(); ++r) {
    VacuumRow& row = rows.emplace_back();
    row.schema = result.text(r, schema);
    row.table = result.text(r, table);
    row.live = result.integer(r, live);
    row.dead = result.integer(r, dead);
    row.last_vacuum = result.number(r, last_vacuum, std::nan(""));
  }
  double now = std::chrono::duration<double>(database.now.time_since_epoch()).count();
  auto tables =
      select_vacuum_tables(database.datname, rows, static_cast<std::size_t>(options_.top_n), now);
  scan_.tables.insert(scan_.tables.end(), tables.begin(), tables.end());
  core::DatabaseScan visited;
  visited.datname = database.datname;
  visited.ok = true;
  visited.tables = tables.size();
  scan_.databases.push_back(std::move(visited));
}

void VacuumCollector::visit_failed(const std::string& datname, const std::string& reason) {
  core::DatabaseScan failed;
  failed.datname = datname;
  failed.error = reason;
  scan_.databases.push_back(std::move(failed));
}

std::size_t VacuumCollector::failed_parts() const {
  return static_cast<std::size_t>(std::count_if(scan_.databases.begin(), scan_.databases.end(),
                                                [](const auto& d) { return !d.ok; }));
}

CollectorOutput VacuumCollector::end_scan(std::size_t /*label_limit*/) {
  std::stable_sort(scan_.tables.begin(), scan_.tables.end(),
                   [](const auto& a, const auto& b) { return a.dead_tuples > b.dead_tuples; });
  std::sort(scan_.databases.begin(), scan_.databases.end(),
            [](const auto& a, const auto& b) { return a.datname < b.datname; });
  auto families = vacuum_families(scan_, static_cast<std::size_t>(options_.max_table_series));
  return CollectorOutput{std::move(families), core::make_details(scan_)};
}

}  // namespace pgpulse::collectors
