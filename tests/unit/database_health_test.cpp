// Pure functions over made-up rows: per-database counters and wraparound, database sizes, who
// holds the xmin horizon, autovacuum workers, per-table vacuum top-N, settings in base units.
#include <catch2/catch.hpp>

#include "family_sample.hpp"

#include <cmath>
#include <limits>

#include "collectors/autovacuum.hpp"
#include "collectors/database_size.hpp"
#include "collectors/database_stats.hpp"
#include "collectors/horizon.hpp"
#include "collectors/settings.hpp"
#include "collectors/vacuum.hpp"
#include "core/exposition.hpp"

using namespace pgpulse::collectors;

namespace {

constexpr double kNow = 1'800'000'000;

DatabaseRow database(std::string name, long long commits, long long xid_age,
                     long long mxid_age = 1) {
  DatabaseRow row;
  row.datname = std::move(name);
  row.xact_commit = commits;
  row.xact_rollback = 1;
  row.deadlocks = 2;
  row.temp_bytes = 1000;
  row.xid_age = xid_age;
  row.mxid_age = mxid_age;
  return row;
}

// The value of the first sample of `name` whose labels include `labels`.

ActivityRow backend(int pid, std::string state, long long xmin_age, double xact_age,
                    std::string app = "web") {
  ActivityRow row;
  row.pid = pid;
  row.state = std::move(state);
  row.backend_type = "client backend";
  row.application_name = std::move(app);
  row.datname = "app";
  row.usename = "web";
  row.xmin_age = xmin_age;
  row.xact_start = kNow - xact_age;
  return row;
}

}  // namespace

TEST_CASE("the wraparound ratio is the oldest database's age over 2^31") {
  CHECK(wraparound_ratio(0) == 0);
  CHECK(wraparound_ratio(1073741824) == Approx(0.5));
  CHECK(wraparound_ratio(2147483648LL) == Approx(1));
  auto summary = summarize_databases(
      {database("app", 100, 200'000'000), database("template0", 0, 1'610'612'736),
       database("postgres", 5, 1000, 900'000'000)},
      50);
  CHECK(summary.xid_wraparound_ratio == Approx(0.75));  // template0, whom nobody connects to
  CHECK(summary.mxid_wraparound_ratio == Approx(900'000'000 / 2147483648.0));
  auto families = database_families(summary);
  CHECK(sample(families, "pgpulse_xid_wraparound_ratio") == Approx(0.75));
  CHECK(sample(families, "pgpulse_database_xid_age", {{"datname", "template0"}}) == 1'610'612'736);
  CHECK(sample(families, "pgpulse_database_mxid_age", {{"datname", "postgres"}}) == 900'000'000);
}

TEST_CASE("folded databases sum their counters into other and keep their worst age") {
  std::vector<DatabaseRow> rows{database("busy", 1000, 10), database("quiet_a", 1, 500),
                                database("quiet_b", 2, 70)};
  rows[1].sessions = SessionCounters{10, 4, 1, 7, 1, 2, 3};
  auto summary = summarize_databases(rows, 1);
  REQUIRE(summary.databases.size() == 2);
  CHECK(summary.folded == 2);
  const auto& other = summary.databases.at("other");
  CHECK(other.xact_commit == 3);
  CHECK(other.deadlocks == 4);
  CHECK(other.xid_age == 500);
  REQUIRE(other.sessions);
  CHECK(other.sessions->killed == 3);
  CHECK(summary.databases.at("busy").xact_commit == 1000);
  auto families = database_families(summary);
  CHECK(sample(families, "pgpulse_label_values_folded", {{"collector", "database"}}) == 2);
  CHECK(sample(families, "pgpulse_database_sessions_total",
               {{"datname", "other"}, {"end", "fatal"}}) == 2);
  // "busy" has no session counters (a server before 14): no session series, not zeros.
  CHECK_FALSE(sample(families, "pgpulse_database_sessions_total", {{"datname", "busy"}}));
  CHECK(sample(families, "pgpulse_database_idle_in_transaction_seconds_total",
               {{"datname", "other"}}) == 1);
}

TEST_CASE("checksum failures are absent when checksums are off, and counted when on") {
  auto off = database("app", 1, 1);
  auto on = database("billing", 1, 1);
  on.checksum_failures = 3;
  auto families = database_families(summarize_databases({off, on}, 50));
  CHECK_FALSE(sample(families, "pgpulse_database_checksum_failures_total", {{"datname", "app"}}));
  CHECK(sample(families, "pgpulse_database_checksum_failures_total", {{"datname", "billing"}}) ==
        3);
}

TEST_CASE("the wraparound details name the oldest databases, worst first") {
  std::vector<DatabaseRow> rows;
  for (int i = 0; i < 8; ++i) rows.push_back(database("db" + std::to_string(i), 1, i * 1000));
  rows[2].mxid_age = 1'000'000;  // old by multixacts only
  auto details = database_details(rows);
  REQUIRE(details.oldest.size() == 5);
  CHECK(details.oldest[0].datname == "db2");
  CHECK(details.oldest[1].datname == "db7");
  CHECK(details.deadlocks == 16);
  CHECK(details.xid_wraparound_ratio == Approx(7000 / 2147483648.0));
}

TEST_CASE(
    "database sizes: unreadable ones are counted, not zero, and the largest keep their name") {
  auto summary = summarize_database_sizes(
      {{"big", 5'000'000}, {"small", 10}, {"tiny", 5}, {"secret", std::nullopt}}, 2);
  CHECK(summary.unreadable == 1);
  CHECK(summary.bytes.at("big") == 5'000'000);
  CHECK(summary.bytes.at("small") == 10);
  CHECK(summary.bytes.at("other") == 5);
  CHECK(summary.bytes.count("secret") == 0);
  auto families = database_size_families(summary);
  CHECK(sample(families, "pgpulse_database_size_unreadable") == 1);
}

TEST_CASE("the horizon names the oldest holder of each kind") {
  ActivitySample s;
  s.server_now = kNow;
  s.rows = {backend(10, "active", 500, 30), backend(11, "active", 900, 20, "report"),
            backend(12, "idle in transaction", 300, 600, "celery"),
            backend(13, "idle in transaction (aborted)", 400, 60, "django"),
            backend(14, "active", -1, 1)};
  // A walsender's xmin is its standby's hot_standby_feedback: read from the tick's sample.
  auto walsender = backend(20, "active", 5000, 99, "walreceiver");
  walsender.backend_type = "walsender";
  s.rows.push_back(walsender);
  auto self = backend(21, "active", 9999, 1);
  self.is_self = true;
  s.rows.push_back(self);
  std::vector<HorizonRow> rows{
      {"replication_slot", "standby_1", 0, "", "", 700, std::nan("")},
      {"replication_slot", "logical_x", 55, "app", "", 800, std::nan("")},
      {"prepared_transaction", "tx-42", 0, "app", "web", 100, kNow - 3600}};
  auto details = summarize_horizon(s, rows);
  REQUIRE(details.holders.size() == 5);
  CHECK(details.holders[0].holder == "standby_feedback");  // oldest first
  CHECK(details.holders[0].xid_age == 5000);
  auto find = [&](const std::string& kind) {
    for (const auto& h : details.holders) {
      if (h.holder == kind) return h;
    }
    FAIL("no holder " << kind);
    return pgpulse::core::HorizonHolder{};
  };
  CHECK(find("backend").pid == 11);
  CHECK(find("backend").name == "report");
  CHECK(find("backend").seconds == Approx(20));
  CHECK(find("idle_in_transaction").pid == 13);  // aborted counts as idle in transaction
  CHECK(find("standby_feedback").pid == 20);     // the walsender, not a backend
  CHECK(find("standby_feedback").name == "walreceiver");
  CHECK(find("backend").xid_age == 900);
  CHECK(find("replication_slot").name == "logical_x");
  CHECK(find("prepared_transaction").seconds == Approx(3600));
  CHECK_FALSE(find("replication_slot").seconds);
  auto families = horizon_families(details);
  CHECK(sample(families, "pgpulse_xmin_horizon_age", {{"holder", "backend"}}) == 900);
  CHECK(sample(families, "pgpulse_xmin_horizon_holder_info",
               {{"holder", "idle_in_transaction"}, {"name", "django"}, {"pid", "13"}}) == 1);
  CHECK(sample(families, "pgpulse_xmin_horizon_age_seconds",
               {{"holder", "prepared_transaction"}}) == Approx(3600));
}

TEST_CASE("no holder of a kind reads 0, and ties go to the longest held, then the lowest pid") {
  ActivitySample s;
  s.server_now = kNow;
  s.rows = {backend(30, "active", 50, 5), backend(31, "active", 50, 9),
            backend(29, "active", 50, 9)};
  auto details = summarize_horizon(s, {});
  REQUIRE(details.holders.size() == 1);
  CHECK(details.holders[0].pid == 29);
  auto families = horizon_families(details);
  for (const char* kind : kHorizonHolders) {
    CHECK(sample(families, "pgpulse_xmin_horizon_age", {{"holder", kind}}).has_value());
  }
  CHECK(sample(families, "pgpulse_xmin_horizon_age", {{"holder", "replication_slot"}}) == 0);
  CHECK_FALSE(
      sample(families, "pgpulse_xmin_horizon_holder_info", {{"holder", "replication_slot"}}));
}

TEST_CASE("autovacuum workers, the wraparound ones, and the oldest") {
  ActivitySample s;
  s.server_now = kNow;
  auto worker = [](std::string query, double age) {
    ActivityRow row;
    row.backend_type = "autovacuum worker";
    row.query = std::move(query);
    row.xact_start = kNow - age;
    return row;
  };
  s.rows = {worker("autovacuum: VACUUM public.orders", 30),
            worker("autovacuum: VACUUM pg_toast.pg_toast_16384 (to prevent wraparound)", 600),
            backend(5, "active", 1, 1)};
  auto summary = summarize_autovacuum(s, 3);
  CHECK(summary.workers == 2);
  CHECK(summary.wraparound_workers == 1);
  CHECK(summary.max_workers == 3);
  CHECK(summary.oldest_seconds == Approx(600));
}

TEST_CASE("dead tuple ratio") {
  CHECK(dead_tuple_ratio(0, 0) == 0);
  CHECK(dead_tuple_ratio(75, 25) == Approx(0.25));
  CHECK(dead_tuple_ratio(0, 10) == 1);
}

TEST_CASE("vacuum top-N: most dead tuples, and the stalest tables with dead tuples") {
  std::vector<VacuumRow> rows{
      {"public", "orders", 1000, 900, kNow - 60}, {"public", "events", 100, 500, kNow - 30},
      {"public", "audit", 10, 5, std::nan("")},   {"public", "sessions", 10, 3, kNow - 86400},
      {"public", "clean", 1000, 0, std::nan("")}, {"public", "small", 10, 1, kNow - 10}};
  auto tables = select_vacuum_tables("app", rows, 2, kNow);
  std::vector<std::string> names;
  for (const auto& t : tables) names.push_back(t.table);
  // orders and events by dead tuples; audit (never vacuumed) and sessions (a day ago) by age;
  // clean has nothing to vacuum; worst (most dead) first.
  CHECK(names == std::vector<std::string>{"orders", "events", "audit", "sessions"});
  CHECK(tables[0].dead_tuple_ratio == Approx(900.0 / 1900));
  CHECK(tables[0].last_vacuum_age_seconds == Approx(60));
  CHECK_FALSE(tables[2].last_vacuum_age_seconds);
  pgpulse::core::VacuumDetails details;
  details.tables = tables;
  details.databases.resize(2);
  details.databases[0].datname = "app";
  details.databases[0].ok = true;
  details.databases[0].tables = 4;
  details.databases[1].datname = "locked";
  details.databases[1].error = "timeout";
  auto families = vacuum_families(details, 3);
  CHECK(sample(families, "pgpulse_table_last_autovacuum_age_seconds", {{"table", "audit"}}) ==
        std::numeric_limits<double>::infinity());
  CHECK_FALSE(sample(families, "pgpulse_table_dead_tuples", {{"table", "sessions"}}));  // cap 3
  CHECK(sample(families, "pgpulse_vacuum_database_scan_success", {{"datname", "locked"}}) == 0);
}

TEST_CASE("settings in base units") {
  CHECK(setting_in_base_units("16384", "8kB", "integer") == 16384.0 * 8192);
  CHECK(setting_in_base_units("4096", "kB", "integer") == 4096.0 * 1024);
  CHECK(setting_in_base_units("1024", "MB", "integer") == 1024.0 * 1024 * 1024);
  CHECK(setting_in_base_units("30000", "ms", "integer") == 30);
  CHECK(setting_in_base_units("300", "s", "integer") == 300);
  CHECK(setting_in_base_units("1", "min", "integer") == 60);
  CHECK(setting_in_base_units("200000000", "", "integer") == 200000000);
  CHECK(setting_in_base_units("on", "", "bool") == 1);
  CHECK(setting_in_base_units("off", "", "bool") == 0);
  CHECK(setting_in_base_units("-1", "kB", "integer") == -1);  // disabled: not -1 KiB
  CHECK(setting_in_base_units("0.9", "", "real") == Approx(0.9));
  CHECK_FALSE(setting_in_base_units("replica", "", "enum"));
  CHECK_FALSE(setting_in_base_units("12", "furlongs", "integer"));
  CHECK_FALSE(setting_in_base_units("", "", "integer"));
}

TEST_CASE("settings: curated values, pending restarts named, start time") {
  auto summary = summarize_settings(
      {{"shared_buffers", "16384", "8kB", "integer", "configuration file", true},
       {"work_mem", "4096", "kB", "integer", "default", false},
       {"wal_level", "replica", "", "enum", "configuration file", true},
       {"cluster_name", "x", "", "string", "default", false},
       // set by pgpulse's own session (startup packet, SET): not the server's value
       {"temp_file_limit", "1024", "kB", "integer", "client", false},
       {"max_wal_size", "64", "MB", "integer", "session", false}},
      kNow);
  CHECK(summary.pending_restart == std::vector<std::string>{"shared_buffers", "wal_level"});
  REQUIRE(summary.values.size() == 2);
  CHECK(summary.values[0] == std::pair<std::string, double>{"shared_buffers", 134217728});
  auto families = settings_families(summary);
  CHECK(sample(families, "pgpulse_settings_pending_restart") == 2);
  CHECK(sample(families, "pgpulse_postmaster_start_time_seconds") == kNow);
  CHECK(sample(families, "pgpulse_setting", {{"name", "work_mem"}}) == 4194304);
  CHECK_FALSE(sample(families, "pgpulse_setting", {{"name", "temp_file_limit"}}));
  CHECK_FALSE(sample(families, "pgpulse_setting", {{"name", "max_wal_size"}}));
}
