#pragma once
// The statements collector's SQL by pg_stat_statements version, whether the extension can be
// read at all (and if not, how to enable it), and the mapping of its rows, read by column name.
#include <optional>
#include <string>

#include "collectors/collector.hpp"
#include "collectors/statements_delta.hpp"

namespace pgpulse::collectors {

// What pgpulse can read in the target's database, from kStatementsSupportSql.
struct StatementsSupportRow {
  std::optional<std::string> extversion;  // nullopt: CREATE EXTENSION never ran here
  std::string schema;                     // the extension's schema, quoted for SQL
  std::string datname, usename;
  bool read_all_stats = false;  // pg_read_all_stats (or superuser)
};

struct StatementsSupport {
  Applicability applicability;
  std::string schema;
  int version = 0;  // extension version as major * 100 + minor: 1.10 -> 110
};

extern const char* const kStatementsSupportSql;
extern const char* const kStatementNamesSql;  // $1 database oids, $2 role oids
// Pure: whether the collector can run, and if not, the reason with how to enable it.
StatementsSupport assess_statements_support(const StatementsSupportRow& row);
StatementsSupportRow parse_statements_support(const pg::Result& result);
// Pure: the reason when the probe (one call of the function) fails with this SQLSTATE, e.g. 55000
// when the library is not in shared_preload_libraries; nullopt for errors that say nothing about
// the setup (the collector then runs and reports its own error).
std::optional<std::string> probe_failure_reason(const std::string& sqlstate,
                                                const StatementsSupportRow& row);
int parse_extension_version(const std::string& text);  // "1.10" -> 110; 0 when malformed

// The SQL for an extension version: columns differ (toplevel and pg_stat_statements_info from
// 1.9, PostgreSQL 14; stats_since from 1.11, PostgreSQL 17). The extension's version, not the
// server's, decides: after pg_upgrade the installed version lags until ALTER EXTENSION UPDATE.
struct StatementsSql {
  std::string header;  // clock, pg_stat_statements.max, block_size, pg_stat_statements_info
  std::string scan;    // every entry, showtext := false
  std::string text;    // texts of given keys: $1 userids, $2 dbids, $3 queryids, $4 bytes
  std::string probe;   // one call, to see it is loaded
};
inline constexpr int kStatementsMinVersion = 108;  // total_exec_time (PostgreSQL 13)
StatementsSql statements_sql(const std::string& schema, int version);

StatementsScan parse_statements_scan(const pg::Result& header, const pg::Result& scan);

}  // namespace pgpulse::collectors
