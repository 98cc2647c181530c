#include "collectors/database_size.hpp"

#include "core/label_folding.hpp"

namespace pgpulse::collectors {

// pg_database_size() raises an error for a database the role has no CONNECT privilege on unless
// it has pg_read_all_stats (pg_monitor does): one such database must not fail all the others,
// so those are asked only when allowed and come back NULL otherwise.
const char* const kDatabaseSizeSql = R"SQL(
SELECT datname,
       CASE WHEN has_database_privilege(oid, 'CONNECT')
              OR pg_has_role('pg_read_all_stats', 'MEMBER')
            THEN pg_database_size(oid) END AS bytes
FROM pg_catalog.pg_database)SQL";

DatabaseSizeSummary summarize_database_sizes(const std::vector<DatabaseSizeRow>& rows,
                                             std::size_t label_limit) {
  DatabaseSizeSummary summary;
  std::map<std::string, std::size_t> weights;
  for (const auto& row : rows) {
    if (row.bytes) weights[row.datname] = static_cast<std::size_t>(*row.bytes);
  }
  core::LabelFold fold(weights, label_limit);
  summary.folded = fold.folded_values();
  for (const auto& row : rows) {
    if (!row.bytes) {
      ++summary.unreadable;
      continue;
    }
    summary.bytes[fold.apply(row.datname)] += static_cast<double>(*row.bytes);
  }
  return summary;
}

Families database_size_families(const DatabaseSizeSummary& s) {
  Families families;
  auto& size = add_gauge(families, "pgpulse_database_size_bytes",
                         "pg_database_size(): bytes on disk of the database; absent for a "
                         "database the role may not read.");
  for (const auto& [datname, bytes] : s.bytes) add_sample(size, {{"datname", datname}}, bytes);
  add_sample(add_gauge(families, "pgpulse_database_size_unreadable",
                       "Databases whose size the role may not read (no CONNECT privilege, no "
                       "pg_read_all_stats): their size is unknown."),
             {}, static_cast<double>(s.unreadable));
  core::add_folded_values(families, "database_size", {{"datname", s.folded}});
  return families;
}

CollectorOutput DatabaseSizeCollector::collect(PollContext& context) {
  auto result = context.query(kDatabaseSizeSql);
  const int datname = result.column_index("datname"), bytes = result.column_index("bytes");
  std::vector<DatabaseSizeRow> rows;
  for (int r = 0; r < result.rows(); ++r) {
    DatabaseSizeRow& row = rows.emplace_back();
    row.datname = result.text(r, datname);
    if (!result.is_null(r, bytes)) row.bytes = result.integer(r, bytes);
  }
  return CollectorOutput{
      database_size_families(summarize_database_sizes(rows, context.label_limit())), nullptr};
}

}  // namespace pgpulse::collectors
