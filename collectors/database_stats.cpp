#include "collectors/database_stats.hpp"

#include <algorithm>

#include "core/label_folding.hpp"

namespace pgpulse::collectors {

// pg_database drives the join: every database has its ages, and template0 (which nobody can
// connect to) still has to be frozen by autovacuum before it wraps around. pg_stat_database
// gives every database a row, and the shared-objects row (datid 0) drops out of the join.
// The session columns are milliseconds (float8), converted in C++.
namespace {
constexpr const char* kDatabaseSql13 = R"SQL(
SELECT d.datname, s.xact_commit, s.xact_rollback, s.blks_read, s.blks_hit, s.conflicts,
       s.temp_files, s.temp_bytes, s.deadlocks, s.checksum_failures,
       age(d.datfrozenxid) AS xid_age, mxid_age(d.datminmxid) AS mxid_age
FROM pg_catalog.pg_database d
LEFT JOIN pg_catalog.pg_stat_database s ON s.datid = d.oid)SQL";

constexpr const char* kDatabaseSql14 = R"SQL(
SELECT d.datname, s.xact_commit, s.xact_rollback, s.blks_read, s.blks_hit, s.conflicts,
       s.temp_files, s.temp_bytes, s.deadlocks, s.checksum_failures,
       age(d.datfrozenxid) AS xid_age, mxid_age(d.datminmxid) AS mxid_age,
       s.session_time, s.active_time, s.idle_in_transaction_time, s.sessions,
       s.sessions_abandoned, s.sessions_fatal, s.sessions_killed
FROM pg_catalog.pg_database d
LEFT JOIN pg_catalog.pg_stat_database s ON s.datid = d.oid)SQL";
}  // namespace

const char* database_sql(int server_version) {
  return server_version >= kSessionStatsMinVersion ? kDatabaseSql14 : kDatabaseSql13;
}

std::vector<DatabaseRow> parse_databases(const pg::Result& result, int server_version) {
  std::vector<DatabaseRow> rows;
  const int datname = result.column_index("datname"), commit = result.column_index("xact_commit"),
            rollback = result.column_index("xact_rollback"),
            blks_read = result.column_index("blks_read"),
            blks_hit = result.column_index("blks_hit"),
            conflicts = result.column_index("conflicts"),
            temp_files = result.column_index("temp_files"),
            temp_bytes = result.column_index("temp_bytes"),
            deadlocks = result.column_index("deadlocks"),
            checksums = result.column_index("checksum_failures"),
            xid_age = result.column_index("xid_age"), mxid_age = result.column_index("mxid_age");
  // From 14 only.
  const bool has_sessions = server_version >= kSessionStatsMinVersion;
  int session_time = 0, active_time = 0, idle_time = 0, sessions = 0, abandoned = 0, fatal = 0,
      killed = 0;
  if (has_sessions) {
    session_time = result.column_index("session_time");
    active_time = result.column_index("active_time");
    idle_time = result.column_index("idle_in_transaction_time");
    sessions = result.column_index("sessions");
    abandoned = result.column_index("sessions_abandoned");
    fatal = result.column_index("sessions_fatal");
    killed = result.column_index("sessions_killed");
  }
  for (int r = 0; r < result.rows(); ++r) {
    DatabaseRow& row = rows.emplace_back();
    row.datname = result.text(r, datname);
    row.xact_commit = result.integer(r, commit);
    row.xact_rollback = result.integer(r, rollback);
    row.blks_read = result.integer(r, blks_read);
    row.blks_hit = result.integer(r, blks_hit);
    row.conflicts = result.integer(r, conflicts);
    row.temp_files = result.integer(r, temp_files);
    row.temp_bytes = result.integer(r, temp_bytes);
    row.deadlocks = result.integer(r, deadlocks);
    if (!result.is_null(r, checksums)) row.checksum_failures = result.integer(r, checksums);
    row.xid_age = result.integer(r, xid_age);
    row.mxid_age = result.integer(r, mxid_age);
    if (has_sessions) {
      SessionCounters s;
      s.session_seconds = result.number(r, session_time) / 1000;
      s.active_seconds = result.number(r, active_time) / 1000;
      s.idle_in_transaction_seconds = result.number(r, idle_time) / 1000;
      s.sessions = result.integer(r, sessions);
      s.abandoned = result.integer(r, abandoned);
      s.fatal = result.integer(r, fatal);
      s.killed = result.integer(r, killed);
      row.sessions = s;
    }
  }
  return rows;
}

double wraparound_ratio(long long age) {
  return age <= 0 ? 0.0 : static_cast<double>(age) / kWraparoundLimit;
}

namespace {

void fold_into(DatabaseRow& into, const DatabaseRow& row) {
  into.xact_commit += row.xact_commit;
  into.xact_rollback += row.xact_rollback;
  into.blks_read += row.blks_read;
  into.blks_hit += row.blks_hit;
  into.conflicts += row.conflicts;
  into.temp_files += row.temp_files;
  into.temp_bytes += row.temp_bytes;
  into.deadlocks += row.deadlocks;
  if (row.checksum_failures)
    into.checksum_failures = into.checksum_failures.value_or(0) + *row.checksum_failures;
  if (row.sessions) {
    auto& s = into.sessions ? *into.sessions : into.sessions.emplace();
    s.session_seconds += row.sessions->session_seconds;
    s.active_seconds += row.sessions->active_seconds;
    s.idle_in_transaction_seconds += row.sessions->idle_in_transaction_seconds;
    s.sessions += row.sessions->sessions;
    s.abandoned += row.sessions->abandoned;
    s.fatal += row.sessions->fatal;
    s.killed += row.sessions->killed;
  }
  into.xid_age = std::max(into.xid_age, row.xid_age);
  into.mxid_age = std::max(into.mxid_age, row.mxid_age);
}

}  // namespace

DatabaseSummary summarize_databases(const std::vector<DatabaseRow>& rows, std::size_t label_limit) {
  DatabaseSummary summary;
  // The busiest databases (by transactions since the statistics were reset) keep their name: a
  // cumulative weight changes its ranking slowly, so names rarely move in and out of "other".
  std::map<std::string, std::size_t> weights;
  for (const auto& row : rows) {
    weights[row.datname] = static_cast<std::size_t>(row.xact_commit + row.xact_rollback) + 1;
  }
  core::LabelFold fold(weights, label_limit);
  summary.folded = fold.folded_values();
  long long worst_xid = 0, worst_mxid = 0;
  for (const auto& row : rows) {
    worst_xid = std::max(worst_xid, row.xid_age);
    worst_mxid = std::max(worst_mxid, row.mxid_age);
    const auto& name = fold.apply(row.datname);
    auto [it, fresh] = summary.databases.try_emplace(name);
    if (fresh) {
      it->second = row;
      it->second.datname = name;
    } else {
      fold_into(it->second, row);
    }
  }
  summary.xid_wraparound_ratio = wraparound_ratio(worst_xid);
  summary.mxid_wraparound_ratio = wraparound_ratio(worst_mxid);
  return summary;
}

Families database_families(const DatabaseSummary& s) {
  Families families;
  auto counter = [&](const char* name, const char* help, auto value) {
    auto& family = add_counter(families, name, help);
    for (const auto& [datname, row] : s.databases) {
      if (auto v = value(row)) add_sample(family, {{"datname", datname}}, *v);
    }
  };
  using V = std::optional<double>;
  auto d = [](long long v) { return V(static_cast<double>(v)); };
  counter("pgpulse_database_xact_commits_total", "Transactions committed in the database.",
          [&](const DatabaseRow& r) { return d(r.xact_commit); });
  counter("pgpulse_database_xact_rollbacks_total", "Transactions rolled back in the database.",
          [&](const DatabaseRow& r) { return d(r.xact_rollback); });
  counter("pgpulse_database_deadlocks_total", "Deadlocks detected in the database.",
          [&](const DatabaseRow& r) { return d(r.deadlocks); });
  counter("pgpulse_database_temp_bytes_total",
          "Bytes written to temporary files by queries (sorts and hashes spilling past work_mem).",
          [&](const DatabaseRow& r) { return d(r.temp_bytes); });
  counter("pgpulse_database_temp_files_total", "Temporary files created by queries.",
          [&](const DatabaseRow& r) { return d(r.temp_files); });
  counter("pgpulse_database_blocks_read_total",
          "Blocks read from the operating system (not found in shared buffers).",
          [&](const DatabaseRow& r) { return d(r.blks_read); });
  counter("pgpulse_database_blocks_hit_total", "Blocks found in shared buffers.",
          [&](const DatabaseRow& r) { return d(r.blks_hit); });
  counter("pgpulse_database_conflicts_total",
          "Queries cancelled by conflicts with recovery (standbys only).",
          [&](const DatabaseRow& r) { return d(r.conflicts); });
  counter(
      "pgpulse_database_checksum_failures_total",
      "Data page checksum failures; absent when data checksums are off.",
      [&](const DatabaseRow& r) { return r.checksum_failures ? d(*r.checksum_failures) : V(); });
  auto session = [&](auto field) {
    return [field](const DatabaseRow& r) {
      return r.sessions ? V(static_cast<double>((*r.sessions).*field)) : V();
    };
  };
  counter("pgpulse_database_sessions_established_total",
          "Sessions established to the database (PostgreSQL 14+).",
          session(&SessionCounters::sessions));
  auto& ended = add_counter(families, "pgpulse_database_sessions_total",
                            "Sessions that ended abnormally, by how: abandoned (the client went "
                            "away), fatal, killed (by an operator) (PostgreSQL 14+).");
  for (const auto& [datname, row] : s.databases) {
    if (!row.sessions) continue;
    add_sample(ended, {{"datname", datname}, {"end", "abandoned"}},
               static_cast<double>(row.sessions->abandoned));
    add_sample(ended, {{"datname", datname}, {"end", "fatal"}},
               static_cast<double>(row.sessions->fatal));
    add_sample(ended, {{"datname", datname}, {"end", "killed"}},
               static_cast<double>(row.sessions->killed));
  }
  counter("pgpulse_database_session_seconds_total",
          "Time sessions spent connected to the database (PostgreSQL 14+).",
          session(&SessionCounters::session_seconds));
  counter("pgpulse_database_active_seconds_total",
          "Time sessions spent running statements (PostgreSQL 14+).",
          session(&SessionCounters::active_seconds));
  counter("pgpulse_database_idle_in_transaction_seconds_total",
          "Time sessions spent idle in a transaction (PostgreSQL 14+).",
          session(&SessionCounters::idle_in_transaction_seconds));
  auto gauge = [&](const char* name, const char* help, long long DatabaseRow::*field) {
    auto& family = add_gauge(families, name, help);
    for (const auto& [datname, row] : s.databases) {
      add_sample(family, {{"datname", datname}}, static_cast<double>(row.*field));
    }
  };
  gauge("pgpulse_database_xid_age",
        "age(datfrozenxid): transactions since the database was last frozen completely.",
        &DatabaseRow::xid_age);
  gauge("pgpulse_database_mxid_age",
        "mxid_age(datminmxid): multixacts since the database was last frozen completely.",
        &DatabaseRow::mxid_age);
  add_sample(add_gauge(families, "pgpulse_xid_wraparound_ratio",
                       "The oldest database's age(datfrozenxid) / 2^31: at 1 the server stops "
                       "assigning transaction IDs."),
             {}, s.xid_wraparound_ratio);
  add_sample(add_gauge(families, "pgpulse_mxid_wraparound_ratio",
                       "The oldest database's mxid_age(datminmxid) / 2^31."),
             {}, s.mxid_wraparound_ratio);
  core::add_folded_values(families, "database", {{"datname", s.folded}});
  return families;
}

core::DatabaseDetails database_details(const std::vector<DatabaseRow>& rows) {
  core::DatabaseDetails details;
  long long worst_xid = 0, worst_mxid = 0;
  for (const auto& row : rows) {
    worst_xid = std::max(worst_xid, row.xid_age);
    worst_mxid = std::max(worst_mxid, row.mxid_age);
    details.oldest.push_back({row.datname, row.xid_age, row.mxid_age});
    details.deadlocks += row.deadlocks;
    details.xact_commits += row.xact_commit;
    details.xact_rollbacks += row.xact_rollback;
  }
  std::stable_sort(details.oldest.begin(), details.oldest.end(), [](const auto& a, const auto& b) {
    return std::max(a.xid_age, a.mxid_age) > std::max(b.xid_age, b.mxid_age);
  });
  if (details.oldest.size() > 5) details.oldest.resize(5);
  details.xid_wraparound_ratio = wraparound_ratio(worst_xid);
  details.mxid_wraparound_ratio = wraparound_ratio(worst_mxid);
  return details;
}

CollectorOutput DatabaseStatsCollector::collect(PollContext& context) {
  auto rows = parse_databases(context.query(database_sql(context.server_version())),
                              context.server_version());
  auto summary = summarize_databases(rows, context.label_limit());
  return CollectorOutput{database_families(summary), core::make_details(database_details(rows))};
}

}  // namespace pgpulse::collectors
