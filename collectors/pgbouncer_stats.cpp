#include "collectors/pgbouncer_stats.hpp"

#include "core/label_folding.hpp"

namespace pgpulse::collectors {

std::vector<PgBouncerStatsRow> parse_pgbouncer_stats(const ShowTable& t) {
  std::vector<PgBouncerStatsRow> rows;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    PgBouncerStatsRow row;
    row.database = t.text(r, {"database"});
    row.queries = static_cast<double>(t.integer(r, {"total_query_count"}));
    row.transactions = static_cast<double>(t.integer(r, {"total_xact_count"}));
    row.query_seconds = static_cast<double>(t.integer(r, {"total_query_time"})) / 1e6;
    row.transaction_seconds = static_cast<double>(t.integer(r, {"total_xact_time"})) / 1e6;
    row.wait_seconds = static_cast<double>(t.integer(r, {"total_wait_time"})) / 1e6;
    rows.push_back(std::move(row));
  }
  return rows;
}

PgBouncerStatsSummary summarize_pgbouncer_stats(const std::vector<PgBouncerStatsRow>& rows,
                                                std::size_t label_limit) {
  std::map<std::string, std::size_t> weights;
  for (const auto& row : rows) {
    if (row.database == kPgBouncerAdminDatabase) continue;
    weights[row.database] += static_cast<std::size_t>(row.queries) + 1;
  }
  core::LabelFold fold(weights, label_limit);
  std::map<std::string, PgBouncerStatsRow> merged;
  for (const auto& row : rows) {
    if (row.database == kPgBouncerAdminDatabase) continue;
    auto& m = merged[fold.apply(row.database)];
    m.database = fold.apply(row.database);
    m.queries += row.queries;
    m.transactions += row.transactions;
    m.query_seconds += row.query_seconds;
    m.transaction_seconds += row.transaction_seconds;
    m.wait_seconds += row.wait_seconds;
  }
  PgBouncerStatsSummary summary;
  for (auto& [name, row] : merged) summary.databases.push_back(row);
  summary.folded_values = {{"database", fold.folded_values()}};
  return summary;
}

Families pgbouncer_stats_families(const PgBouncerStatsSummary& s) {
  Families families;
  auto& queries = add_counter(families, "pgpulse_pgbouncer_queries_total",
                              "SQL queries PgBouncer pooled for the database (SHOW STATS).");
  auto& transactions = add_counter(families, "pgpulse_pgbouncer_transactions_total",
                                   "SQL transactions PgBouncer pooled for the database.");
  auto& query_seconds = add_counter(families, "pgpulse_pgbouncer_query_seconds_total",
                                    "Time PgBouncer's server connections spent in queries.");
  auto& transaction_seconds =
      add_counter(families, "pgpulse_pgbouncer_transaction_seconds_total",
                  "Time PgBouncer's server connections spent in transactions (idle in "
                  "transaction included).");
  auto& wait_seconds = add_counter(families, "pgpulse_pgbouncer_wait_seconds_total",
                                   "Time clients spent waiting for a server connection.");
  for (const auto& row : s.databases) {
    LabelPairs labels{{"database", row.database}};
    add_sample(queries, labels, row.queries);
    add_sample(transactions, labels, row.transactions);
    add_sample(query_seconds, labels, row.query_seconds);
    add_sample(transaction_seconds, labels, row.transaction_seconds);
    add_sample(wait_seconds, labels, row.wait_seconds);
  }
  core::add_folded_values(families, "pgbouncer_stats", s.folded_values);
  return families;
}

CollectorOutput PgBouncerStatsCollector::collect(PollContext& context) {
  auto rows = parse_pgbouncer_stats(show_table(context.query("SHOW STATS")));
  return CollectorOutput{
      pgbouncer_stats_families(summarize_pgbouncer_stats(rows, context.label_limit())), nullptr};
}

}  // namespace pgpulse::collectors
