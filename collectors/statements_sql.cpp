#include "collectors/statements_sql.hpp"

#include <charconv>
#include <cmath>

#include "collectors/pg/connection.hpp"

namespace pgpulse::collectors {

// The extension lives in one database (where CREATE EXTENSION ran) and in one schema, which may
// not be on the search path. pg_has_role(..., 'USAGE') is what pg_stat_statements itself checks
// (has_privs_of_role): true for superusers and members of pg_read_all_stats (pg_monitor).
const char* const kStatementsSupportSql = R"SQL(
SELECT e.extversion, quote_ident(n.nspname) AS schema, current_database() AS datname,
       current_user AS usename,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats
FROM (SELECT 1) AS one
LEFT JOIN pg_extension e ON e.extname = 'pg_stat_statements'
LEFT JOIN pg_namespace n ON n.oid = e.extnamespace)SQL";

// The labels of the top N: names for the oids pgpulse has not seen yet, apart from the texts so
// that a deferred text never changes a series' labels. A dropped database or role keeps its oid.
const char* const kStatementNamesSql = R"SQL(
SELECT 'database' AS kind, oid, datname AS name FROM pg_database WHERE oid = ANY($1::oid[])
UNION ALL
SELECT 'role', oid, rolname FROM pg_roles WHERE oid = ANY($2::oid[]))SQL";

namespace {

const char* const kEnable =
    " (shared_preload_libraries = 'pg_stat_statements' in postgresql.conf, restart, then "
    "CREATE EXTENSION pg_stat_statements in that database; see README)";

std::string quoted(const std::string& text) {
  return "\"" + text + "\"";
}

}  // namespace

int parse_extension_version(const std::string& text) {
  int major = 0, minor = 0;
  auto dot = text.find('.');
  if (dot == std::string::npos) return 0;
  auto a = std::from_chars(text.data(), text.data() + dot, major);
  auto b = std::from_chars(text.data() + dot + 1, text.data() + text.size(), minor);
  if (a.ec != std::errc() || a.ptr != text.data() + dot || b.ec != std::errc() ||
      b.ptr != text.data() + text.size() || minor > 99) {
    return 0;
  }
  return major * 100 + minor;
}

StatementsSupport assess_statements_support(const StatementsSupportRow& row) {
  StatementsSupport support;
  if (!row.extversion) {
    support.applicability = Applicability::no("pg_stat_statements is not installed in database " +
                                              quoted(row.datname) + kEnable);
    return support;
  }
  support.version = parse_extension_version(*row.extversion);
  if (support.version < kStatementsMinVersion) {
    support.applicability = Applicability::no(
        "pg_stat_statements " + *row.extversion + " in database " + quoted(row.datname) +
        " is older than 1.8 (no total_exec_time): ALTER EXTENSION pg_stat_statements UPDATE");
    return support;
  }
  if (!row.read_all_stats) {
    support.applicability = Applicability::no(
        "role " + quoted(row.usename) +
        " cannot see other roles' statements in pg_stat_statements: GRANT pg_read_all_stats "
        "(or pg_monitor) TO " +
        quoted(row.usename));
    return support;
  }
  support.schema = row.schema;
  support.applicability = Applicability::yes();
  return support;
}

StatementsSupportRow parse_statements_support(const pg::Result& result) {
  StatementsSupportRow row;
  if (result.rows() < 1) return row;
  int version = result.column_index("extversion"), schema = result.column_index("schema"),
      datname = result.column_index("datname"), usename = result.column_index("usename"),
      read_all = result.column_index("read_all_stats");
  if (!result.is_null(0, version)) row.extversion = std::string(result.text(0, version));
  row.schema = result.text(0, schema);
  row.datname = result.text(0, datname);
  row.usename = result.text(0, usename);
  row.read_all_stats = result.boolean(0, read_all);
  return row;
}

std::optional<std::string> probe_failure_reason(const std::string& sqlstate,
                                                const StatementsSupportRow& row) {
  if (sqlstate == "55000") {  // object_not_in_prerequisite_state: "must be loaded via ..."
    return "pg_stat_statements is installed in database " + quoted(row.datname) +
           " but not loaded: add it to shared_preload_libraries and restart PostgreSQL";
  }
  if (sqlstate == "42501") {  // insufficient_privilege: EXECUTE revoked
    return "role " + quoted(row.usename) +
           " may not call pg_stat_statements(): GRANT EXECUTE ON FUNCTION "
           "pg_stat_statements(boolean) TO " +
           quoted(row.usename);
  }
  return std::nullopt;
}

StatementsSql statements_sql(const std::string& schema, int version) {
  bool has_info = version >= 109, has_since = version >= 111;
  StatementsSql sql;
  // clock_timestamp(): the time of this read, not of the transaction, for the interval length.
  sql.header =
      "SELECT date_part('epoch', clock_timestamp()) AS server_now,\n"
      "       current_setting('pg_stat_statements.max', true)::bigint AS max,\n"
      "       current_setting('block_size')::bigint AS block_size,\n" +
      std::string(has_info ? "       i.dealloc, date_part('epoch', i.stats_reset) AS stats_reset\n"
                             "FROM " +
                                 schema + ".pg_stat_statements_info i"
                           : "       NULL::bigint AS dealloc, NULL::float8 AS stats_reset");
  // Only the columns the deltas need: the function builds every column anyway, but the rows
  // cross the wire every poll.
  sql.scan = "SELECT userid, dbid, queryid, " +
             std::string(has_info ? "toplevel" : "true AS toplevel") +
             ", calls, total_exec_time, rows,\n"
             "       shared_blks_hit, shared_blks_read, temp_blks_written, max_exec_time,\n"
             "       stddev_exec_time, " +
             std::string(has_since ? "date_part('epoch', stats_since)" : "NULL::float8") +
             " AS stats_since\nFROM " + schema + ".pg_stat_statements(false)";
  // showtext := true reads the whole query text file and every entry's text into the function's
  // result (a tuplestore that spills to temp files past work_mem) before the join filters it:
  // the reason it runs only for statements that enter the top N without a text pgpulse holds,
  // and at most every other poll.
  sql.text =
      "SELECT s.userid, s.dbid, s.queryid, left(s.query, $4::int) AS query\n"
      "FROM " +
      schema +
      ".pg_stat_statements(true) s\n"
      "JOIN unnest($1::oid[], $2::oid[], $3::bigint[]) AS k(userid, dbid, queryid)\n"
      "  USING (userid, dbid, queryid)" +
      std::string(has_info ? "\nWHERE s.toplevel" : "");
  sql.probe = "SELECT count(*) AS entries FROM " + schema + ".pg_stat_statements(false)";
  return sql;
}

StatementsScan parse_statements_scan(const pg::Result& header, const pg::Result& scan) {
  StatementsScan out;
  const double nan = std::nan("");
  if (header.rows() > 0) {
    int now = header.column_index("server_now"), max = header.column_index("max"),
        block_size = header.column_index("block_size"), dealloc = header.column_index("dealloc"),
        reset = header.column_index("stats_reset");
    out.server_now = header.number(0, now);
    out.max = static_cast<long>(header.integer(0, max));
    out.block_size = header.number(0, block_size, 8192);
    if (!header.is_null(0, dealloc)) out.dealloc = header.number(0, dealloc);
    if (!header.is_null(0, reset)) out.stats_reset = header.number(0, reset);
  }
  const int userid = scan.column_index("userid"), dbid = scan.column_index("dbid"),
            queryid = scan.column_index("queryid"), toplevel = scan.column_index("toplevel"),
            calls = scan.column_index("calls"), total = scan.column_index("total_exec_time"),
            rows = scan.column_index("rows"), hit = scan.column_index("shared_blks_hit"),
            read = scan.column_index("shared_blks_read"),
            temp = scan.column_index("temp_blks_written"), max = scan.column_index("max_exec_time"),
            stddev = scan.column_index("stddev_exec_time"),
            since = scan.column_index("stats_since");
  out.tracked = scan.rows();
  std::map<StatementKey, std::size_t> seen;
  out.rows.reserve(static_cast<std::size_t>(scan.rows()));
  for (int r = 0; r < scan.rows(); ++r) {
    if (!scan.boolean(r, toplevel)) continue;
    StatementRow row;
    row.key.userid = static_cast<std::uint32_t>(scan.integer(r, userid));
    row.key.dbid = static_cast<std::uint32_t>(scan.integer(r, dbid));
    row.key.queryid = scan.integer(r, queryid);  // NULL only without pg_read_all_stats
    row.counters.calls = scan.number(r, calls);
    row.counters.seconds = scan.number(r, total) / 1000;  // milliseconds in the view
    row.counters.rows = scan.number(r, rows);
    row.counters.shared_blks_hit = scan.number(r, hit);
    row.counters.shared_blks_read = scan.number(r, read);
    row.counters.temp_blks_written = scan.number(r, temp);
    row.max_seconds = scan.number(r, max) / 1000;
    row.stddev_seconds = scan.number(r, stddev) / 1000;
    row.stats_since = scan.number(r, since, nan);
    // Keys are unique in the view; a NULL queryid (another role's statement, seen without the
    // privilege) is not, so such rows merge.
    auto [it, fresh] = seen.emplace(row.key, out.rows.size());
    if (fresh) {
      out.rows.push_back(row);
    } else {
      out.rows[it->second].counters += row.counters;
    }
  }
  return out;
}

}  // namespace pgpulse::collectors
