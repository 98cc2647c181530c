// Database health on a real server: a provoked deadlock, a rollback and a temp-file spill move
// the per-database counters, the xid ages equal what SQL says, sizes equal pg_database_size(),
// the horizon names who holds it, checkpoints and WAL count, and dead tuples show per table.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <thread>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

std::vector<std::string> fast(std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--dsn", TestDatabase::dsn(), "--target-name",
                                "main",  "--interval",        "500ms"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

int major() {
  return std::stoi(TestDatabase::env("PGPULSE_TEST_PGMAJOR"));
}

double value_or_nan(const Scrape& scrape, const std::string& name,
                    const std::map<std::string, std::string>& labels = {}) {
  return scrape.value(name, labels).value_or(std::nan(""));
}

// The /diagnose step `id` of the only target.
nlohmann::json diagnose_step(const PgpulseProcess& pgpulse, const std::string& id) {
  auto body = nlohmann::json::parse(http_get(pgpulse.port(), "/diagnose").body);
  for (const auto& step : body["targets"][0]["steps"]) {
    if (step["id"] == id) return step;
  }
  return nlohmann::json::object();
}

}  // namespace

TEST_CASE("health - a deadlock, a rollback and a temp-file spill move the database counters",
          "[health][database]") {
  Session admin(TestDatabase::dsn());
  admin.exec(
      "DROP TABLE IF EXISTS it_deadlock; CREATE TABLE it_deadlock (id int PRIMARY KEY, v int);"
      "INSERT INTO it_deadlock VALUES (1, 0), (2, 0)");
  PgpulseProcess pgpulse(fast());
  const std::map<std::string, std::string> db{{"datname", "postgres"}};
  REQUIRE(eventually(
      [&] { return pgpulse.scrape().value("pgpulse_database_deadlocks_total", db).has_value(); },
      10s));
  auto before = pgpulse.scrape();

  Session a(TestDatabase::dsn()), b(TestDatabase::dsn());
  a.exec("BEGIN; UPDATE it_deadlock SET v = 1 WHERE id = 1");
  b.exec("BEGIN; UPDATE it_deadlock SET v = 1 WHERE id = 2");
  a.send("UPDATE it_deadlock SET v = 2 WHERE id = 2");  // waits on b
  // Waits on a: after deadlock_timeout one of the two is chosen as the victim (usually a, which
  // waited first; its error is drained by its next exec).
  try {
    b.exec("UPDATE it_deadlock SET v = 2 WHERE id = 1");
  } catch (const std::runtime_error&) {
  }
  a.exec("ROLLBACK");
  b.exec("ROLLBACK");
  Session spill(TestDatabase::dsn());
  spill.exec("SET work_mem = '64kB'");
  spill.exec("SELECT count(*) FROM (SELECT g FROM generate_series(1, 200000) g ORDER BY g DESC) s");
  Session killed(TestDatabase::dsn("application_name=it-killed"));
  admin.exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'it-killed'");

  auto grew = [&](const Scrape& now, const std::string& name, double by,
                  const std::map<std::string, std::string>& labels) {
    return value_or_nan(now, name, labels) >= value_or_nan(before, name, labels) + by;
  };
  bool counted = eventually(
      [&] {
        auto now = pgpulse.scrape();
        bool sessions = major() < 14 || grew(now, "pgpulse_database_sessions_total", 1,
                                             {{"datname", "postgres"}, {"end", "killed"}});
        return grew(now, "pgpulse_database_deadlocks_total", 1, db) &&
               grew(now, "pgpulse_database_xact_rollbacks_total", 2, db) &&
               grew(now, "pgpulse_database_temp_files_total", 1, db) &&
               grew(now, "pgpulse_database_temp_bytes_total", 1e6, db) && sessions;
      },
      15s);
  auto after = pgpulse.scrape();
  CHECK(counted);
  CHECK(after.value("pgpulse_database_xact_commits_total", db) >
        before.value("pgpulse_database_xact_commits_total", db));
  CHECK(after.value("pgpulse_database_blocks_hit_total", db).value_or(0) > 0);
  CHECK(after.value("pgpulse_database_conflicts_total", db) == 0);  // a primary has none
  CHECK(after.value("pgpulse_collector_success", {{"collector", "database"}}) == 1);
  if (major() >= 14) {
    CHECK(after.value("pgpulse_database_session_seconds_total", db).value_or(0) > 0);
    CHECK(after.value("pgpulse_database_sessions_established_total", db).value_or(0) >= 5);
  } else {
    CHECK_FALSE(after.value("pgpulse_database_sessions_total", db));
  }
  admin.exec("DROP TABLE it_deadlock");
}

TEST_CASE("health - the xid ages of every database equal what SQL says, sizes too",
          "[health][database]") {
  PgpulseProcess pgpulse(fast({"--collector.database-size.interval", "1s"}));
  REQUIRE(eventually(
      [&] { return pgpulse.scrape().value("pgpulse_database_size_bytes").has_value(); }, 10s));
  Session admin(TestDatabase::dsn());
  // Each query below assigns no transaction ID, so the ages stand still while they are compared.
  auto names = admin.scalar("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");
  std::vector<std::string> databases;
  for (std::size_t start = 0, end; start < names.size(); start = end + 1) {
    end = names.find(',', start);
    if (end == std::string::npos) end = names.size();
    databases.push_back(names.substr(start, end - start));
  }
  REQUIRE(databases.size() >= 3);  // postgres, template0, template1
  auto scrape = pgpulse.scrape();
  double worst = 0;
  for (const auto& datname : databases) {
    INFO("database " << datname);
    double xid = std::stod(admin.scalar(
        "SELECT age(datfrozenxid) FROM pg_database WHERE datname = '" + datname + "'"));
    double mxid = std::stod(admin.scalar(
        "SELECT mxid_age(datminmxid) FROM pg_database WHERE datname = '" + datname + "'"));
    double bytes = std::stod(admin.scalar("SELECT pg_database_size('" + datname + "')"));
    worst = std::max(worst, xid);
    CHECK(scrape.value("pgpulse_database_xid_age", {{"datname", datname}}) == xid);
    CHECK(scrape.value("pgpulse_database_mxid_age", {{"datname", datname}}) == mxid);
    CHECK(scrape.value("pgpulse_database_size_bytes", {{"datname", datname}}).value_or(0) ==
          Approx(bytes).margin(2e6));
  }
  CHECK(scrape.value("pgpulse_xid_wraparound_ratio").value_or(-1) == Approx(worst / 2147483648.0));
  CHECK(diagnose_step(pgpulse, "wraparound")["severity"] == "ok");
}

TEST_CASE("health - the horizon names the idle transaction and the prepared transaction",
          "[health][horizon]") {
  Session admin(TestDatabase::dsn());
  try {
    admin.exec("ROLLBACK PREPARED 'it-horizon'");  // left by an interrupted run
  } catch (const std::runtime_error&) {
  }
  admin.exec("DROP TABLE IF EXISTS it_prepared; CREATE TABLE it_prepared (id int)");
  PgpulseProcess pgpulse(fast());
  // A snapshot held by a REPEATABLE READ transaction left idle, then transactions after it.
  Session idle(TestDatabase::dsn("application_name=it-horizon-idle"));
  idle.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  idle.exec("SELECT 1");
  for (int i = 0; i < 5; ++i) admin.exec("SELECT txid_current()");
  Session prepare(TestDatabase::dsn());
  prepare.exec("BEGIN; INSERT INTO it_prepared VALUES (1); PREPARE TRANSACTION 'it-horizon'");
  for (int i = 0; i < 3; ++i) admin.exec("SELECT txid_current()");
  const auto pid = std::to_string(idle.backend_pid());
  bool named = eventually(
      [&] {
        auto scrape = pgpulse.scrape();
        return scrape.value("pgpulse_xmin_horizon_age", {{"holder", "idle_in_transaction"}})
                       .value_or(0) >= 8 &&
               scrape.value("pgpulse_xmin_horizon_holder_info", {{"holder", "idle_in_transaction"},
                                                                 {"name", "it-horizon-idle"},
                                                                 {"pid", pid}}) == 1 &&
               scrape.value("pgpulse_xmin_horizon_age", {{"holder", "prepared_transaction"}})
                       .value_or(0) >= 3 &&
               scrape.value("pgpulse_xmin_horizon_holder_info",
                            {{"holder", "prepared_transaction"}, {"name", "it-horizon"}}) == 1;
      },
      10s);
  auto scrape = pgpulse.scrape();
  auto step = diagnose_step(pgpulse, "horizon");
  admin.exec("ROLLBACK PREPARED 'it-horizon'");
  idle.exec("ROLLBACK");
  CHECK(named);
  // The idle transaction is the older: it is named first, with its pid and application.
  CHECK(step["finding"].get<std::string>().find("oldest: idle transaction pid " + pid +
                                                " (it-horizon-idle, postgres@postgres)") == 0);
  CHECK(scrape.value("pgpulse_xmin_horizon_age", {{"holder", "replication_slot"}}) == 0);
  CHECK(scrape.value("pgpulse_xmin_horizon_age_seconds", {{"holder", "idle_in_transaction"}})
            .has_value());
  // Once both end, nothing holds it (the pgpulse backend's own snapshot does not count).
  CHECK(eventually(
      [&] {
        auto now = pgpulse.scrape();
        return now.value("pgpulse_xmin_horizon_age", {{"holder", "idle_in_transaction"}}) == 0 &&
               now.value("pgpulse_xmin_horizon_age", {{"holder", "prepared_transaction"}}) == 0;
      },
      10s));
  admin.exec("DROP TABLE it_prepared");
}

TEST_CASE("health - a CHECKPOINT is counted as requested and writes count as WAL",
          "[health][checkpoints]") {
  PgpulseProcess pgpulse(fast());
  const std::map<std::string, std::string> requested{{"kind", "requested"}};
  REQUIRE(eventually(
      [&] { return pgpulse.scrape().value("pgpulse_checkpoints_total", requested).has_value(); },
      10s));
  auto before = pgpulse.scrape();
  {
    // A session that ends: up to 14 an idle backend may hold back its WAL statistics (as below).
    Session writer(TestDatabase::dsn());
    writer.exec(
        "DROP TABLE IF EXISTS it_wal; CREATE TABLE it_wal AS "
        "SELECT g AS id, repeat('x', 100) AS body FROM generate_series(1, 20000) g");
    writer.exec("CHECKPOINT");
  }
  Session admin(TestDatabase::dsn());
  bool counted = eventually(
      [&] {
        auto now = pgpulse.scrape();
        bool wal = major() < 14 || value_or_nan(now, "pgpulse_wal_bytes_total") >=
                                       value_or_nan(before, "pgpulse_wal_bytes_total") + 2e6;
        return value_or_nan(now, "pgpulse_checkpoints_total", requested) >=
                   value_or_nan(before, "pgpulse_checkpoints_total", requested) + 1 &&
               value_or_nan(now, "pgpulse_buffers_written_total", {{"by", "checkpointer"}}) >
                   value_or_nan(before, "pgpulse_buffers_written_total",
                                {{"by", "checkpointer"}}) &&
               wal;
      },
      15s);
  auto scrape = pgpulse.scrape();
  admin.exec("DROP TABLE it_wal");
  CHECK(counted);
  CHECK(scrape.value("pgpulse_checkpoint_seconds_total", {{"phase", "write"}}).has_value());
  CHECK(scrape.value("pgpulse_buffers_written_total", {{"by", "backend"}}).has_value());
  CHECK(scrape.value("pgpulse_collector_applicable", {{"collector", "wal"}}) ==
        (major() >= 14 ? 1 : 0));
  // archive_mode is off on the test server: the archiver does not apply, it does not fail.
  CHECK(scrape.value("pgpulse_collector_applicable", {{"collector", "archiver"}}) == 0);
}

TEST_CASE("health - dead tuples per table, the time since vacuum, and autovacuum's limit",
          "[health][vacuum]") {
  // Writes from sessions that end: up to PostgreSQL 14 a backend sends its statistics at most
  // every 500 ms, when it goes idle, so an idle session's last writes may never reach pg_stat;
  // one that exits sends them.
  auto write = [](const std::string& sql) { Session(TestDatabase::dsn()).exec(sql); };
  write(
      "DROP TABLE IF EXISTS it_bloat; CREATE TABLE it_bloat (id int) "
      "WITH (autovacuum_enabled = off); INSERT INTO it_bloat SELECT generate_series(1, "
      "10000); DELETE FROM it_bloat WHERE id <= 4000");
  Session admin(TestDatabase::dsn());
  PgpulseProcess pgpulse(fast({"--collector.vacuum.interval", "1s"}));
  const std::map<std::string, std::string> table{
      {"datname", "postgres"}, {"schema", "public"}, {"table", "it_bloat"}};
  // The autovacuum series come from another collector, whose first poll may publish after the
  // vacuum scan's (it did under ASan): wait for both.
  bool listed = eventually(
      [&] {
        auto s = pgpulse.scrape();
        return s.value("pgpulse_table_dead_tuples", table) == 4000 &&
               s.value("pgpulse_autovacuum_max_workers").has_value();
      },
      15s);
  auto scrape = pgpulse.scrape();
  CHECK(listed);
  CHECK(scrape.value("pgpulse_table_dead_tuple_ratio", table).value_or(0) == Approx(0.4));
  CHECK(std::isinf(scrape.value("pgpulse_table_last_autovacuum_age_seconds", table).value_or(0)));
  CHECK(scrape.value("pgpulse_vacuum_database_scan_success", {{"datname", "postgres"}}) == 1);
  CHECK(scrape.value("pgpulse_collector_failed_parts", {{"collector", "vacuum"}}) == 0);
  CHECK(scrape.value("pgpulse_autovacuum_max_workers") ==
        std::stod(admin.scalar("SHOW autovacuum_max_workers")));
  CHECK(scrape.value("pgpulse_autovacuum_workers").has_value());
  // Vacuumed, then a few more deleted: listed again, with the time since that vacuum.
  write("VACUUM it_bloat");
  write("DELETE FROM it_bloat WHERE id <= 5000");
  bool vacuumed = eventually(
      [&] {
        auto now = pgpulse.scrape();
        return now.value("pgpulse_table_dead_tuples", table) == 1000 &&
               now.value("pgpulse_table_last_autovacuum_age_seconds", table).value_or(1e9) < 60;
      },
      15s);
  CHECK(vacuumed);
  admin.exec("DROP TABLE it_bloat");
}
