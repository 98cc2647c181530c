// The per-database visits under a bad day: a database whose pg_class is locked, a scan slower
// than the poll interval, a target that answers only after pgpulse started, an outage, and a role
// setting that ends idle sessions.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

void recreate_database(Session& admin, const std::string& name) {
  admin.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  admin.exec("CREATE DATABASE " + name);
}

// Backends waiting in startup on a lock in `datname`: in pg_locks, not yet in pg_stat_activity.
int startup_waiters(Session& admin, const std::string& datname) {
  return std::stoi(
      admin.scalar("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                   "WHERE NOT l.granted AND d.datname = '" +
                   datname + "' AND l.pid NOT IN (SELECT pid FROM pg_stat_activity)"));
}

}  // namespace

TEST_CASE("scan - a locked pg_class in one database leaves the others scanned and is backed off",
          "[scan][rls][matrix]") {
  Session admin(TestDatabase::dsn());
  for (const auto* db : {"it_scan_locked", "it_scan_a", "it_scan_b"}) recreate_database(admin, db);
  Session locker(TestDatabase::dsn("dbname=it_scan_locked"));
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE pg_catalog.pg_class IN ACCESS EXCLUSIVE MODE");
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval",
                          "500ms", "--collector.rls.interval", "1s", "--rls.databases.include",
                          "postgres,it_scan_locked,it_scan_a,it_scan_b"});
  int most_waiters = 0;
  bool partial = eventually(
      [&] {
        most_waiters = std::max(most_waiters, startup_waiters(admin, "it_scan_locked"));
        auto scrape = pgpulse.scrape();
        return scrape.value("pgpulse_rls_database_scan_success", {{"datname", "it_scan_a"}}) == 1 &&
               scrape.value("pgpulse_rls_database_scan_success", {{"datname", "it_scan_b"}}) == 1 &&
               scrape.value("pgpulse_rls_database_scan_success", {{"datname", "it_scan_locked"}}) ==
                   0 &&
               scrape.value("pgpulse_collector_failed_parts", {{"collector", "rls"}}) == 1;
      },
      20s, 100ms);
  // Keep it locked for several scans: the database is backed off, and no attempt piles up.
  std::string tables;
  bool backed_off = eventually(
      [&] {
        most_waiters = std::max(most_waiters, startup_waiters(admin, "it_scan_locked"));
        tables = http_get(pgpulse.port(), "/tables").body;
        return tables.find("not visited: timed out") != std::string::npos;
      },
      20s, 100ms);
  for (int i = 0; i < 20; ++i) {  // two more seconds of scans
    most_waiters = std::max(most_waiters, startup_waiters(admin, "it_scan_locked"));
    std::this_thread::sleep_for(100ms);
  }
  locker.exec("ROLLBACK");
  CHECK(partial);
  CHECK(backed_off);
  CHECK(most_waiters <= 1);  // never more than one abandoned attempt (lock_timeout at startup)
  CHECK(pgpulse.scrape().value("pgpulse_collector_success", {{"collector", "rls"}}) == 1);
  // Once the lock is gone, the database is read again (after its backoff).
  CHECK(eventually(
      [&] {
        return pgpulse.scrape().value("pgpulse_rls_database_scan_success",
                                      {{"datname", "it_scan_locked"}}) == 1;
      },
      20s));
  for (const auto* db : {"it_scan_locked", "it_scan_a", "it_scan_b"}) {
    admin.exec(std::string("DROP DATABASE ") + db + " WITH (FORCE)");
  }
}

TEST_CASE("scan - a scan slower than the poll interval never delays the fast collectors",
          "[scan]") {
  Session admin(TestDatabase::dsn());
  std::vector<std::string> names{"it_slow_a", "it_slow_b", "it_slow_c", "it_slow_d"};
  std::vector<Session> lockers;
  for (const auto& db : names) {
    recreate_database(admin, db);
    // Every visit of these waits lock_timeout (1 s) on pg_policy: a scan of 4 s or more.
    lockers.emplace_back(TestDatabase::dsn("dbname=" + db));
    lockers.back().exec("BEGIN");
    lockers.back().exec("LOCK TABLE pg_catalog.pg_policy IN ACCESS EXCLUSIVE MODE");
  }
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval",
                          "500ms", "--collector.rls.interval", "1s"});
  REQUIRE(eventually([&] { return pgpulse.scrape().value("pgpulse_up") == 1; }, 10s));
  double worst_age = 0;
  auto until = std::chrono::steady_clock::now() + 6s;
  while (std::chrono::steady_clock::now() < until) {
    auto scrape = pgpulse.scrape();
    auto last = scrape.value("pgpulse_collector_last_success_timestamp_seconds",
                             {{"collector", "connections"}});
    double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (last && *last > 0) worst_age = std::max(worst_age, now - *last);
    std::this_thread::sleep_for(100ms);
  }
  auto rls_duration =
      pgpulse.scrape().value("pgpulse_collector_duration_seconds", {{"collector", "rls"}});
  for (auto& locker : lockers) locker.exec("ROLLBACK");
  INFO("connections data at most " << worst_age << " s old; rls scan took "
                                   << rls_duration.value_or(-1) << " s");
  CHECK(rls_duration.value_or(0) >= 3);  // the scan was slow ...
  CHECK(worst_age < 1.5);                // ... and the 500 ms collectors kept their cadence
  for (const auto& db : names) admin.exec("DROP DATABASE " + db + " WITH (FORCE)");
}

TEST_CASE("scan - a target that answers late is scanned at its first connection, not later",
          "[scan][faults][matrix]") {
  TestDatabase::control("stop");
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval",
                          "500ms", "--pg.connect-timeout", "1s"});  // rls every 5 minutes
  std::this_thread::sleep_for(1500ms);
  TestDatabase::control("start");
  auto started = std::chrono::steady_clock::now();
  bool ready = eventually([&] { return http_get(pgpulse.port(), "/readyz").status == 200; }, 15s);
  auto took = std::chrono::steady_clock::now() - started;
  INFO("ready " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                << " ms after the server started");
  CHECK(ready);
  CHECK(pgpulse.scrape().value("pgpulse_collector_success", {{"collector", "rls"}}) == 1);
}

TEST_CASE("scan - an outage drops the per-database data too, and it returns with the server",
          "[scan][faults][matrix]") {
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval",
                          "500ms", "--pg.connect-timeout", "1s"});
  REQUIRE(eventually(
      [&] {
        return pgpulse.scrape()
            .value("pgpulse_rls_database_scan_success", {{"datname", "postgres"}})
            .has_value();
      },
      10s));
  TestDatabase::control("kill");
  bool gone = eventually(
      [&] {
        auto scrape = pgpulse.scrape();
        return scrape.value("pgpulse_up") == 0 &&
               !scrape.value("pgpulse_rls_database_scan_success", {{"datname", "postgres"}}) &&
               !scrape.value("pgpulse_rls_unprotected_tenant_tables").has_value();
      },
      10s);
  TestDatabase::control("start");
  CHECK(gone);
  CHECK(eventually(
      [&] {
        return pgpulse.scrape()
            .value("pgpulse_rls_database_scan_success", {{"datname", "postgres"}})
            .has_value();
      },
      15s));
}

TEST_CASE("scan - idle_session_timeout shorter than the interval does not make pgpulse flap",
          "[scan][faults][matrix]") {
  if (TestDatabase::env("PGPULSE_TEST_PGMAJOR") == "13") {
    WARN("PostgreSQL 13 has no idle_session_timeout: nothing to test");
    return;
  }
  Session admin(TestDatabase::dsn());
  admin.exec("DROP ROLE IF EXISTS it_idle_monitor");
  admin.exec("CREATE ROLE it_idle_monitor LOGIN IN ROLE pg_monitor");
  admin.exec("ALTER ROLE it_idle_monitor SET idle_session_timeout = '300ms'");
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn("user=it_idle_monitor"), "--target-name",
                          "main", "--interval", "1s", "--no-collector.rls"});
  REQUIRE(eventually([&] { return pgpulse.scrape().value("pgpulse_up") == 1; }, 10s));
  bool flapped = false;
  for (int i = 0; i < 30; ++i) {
    flapped |= pgpulse.scrape().value("pgpulse_up") != 1;
    std::this_thread::sleep_for(100ms);
  }
  auto errors = pgpulse.scrape().sum("pgpulse_connect_errors_total");
  CHECK_FALSE(flapped);
  CHECK(errors == 0);
  CHECK(pgpulse.log().find("connection lost") == std::string::npos);
  admin.exec("DROP ROLE it_idle_monitor");
}

TEST_CASE("scan - RLS switched off or a policy dropped in the target's database is seen at once",
          "[scan][rls][matrix]") {
  Session admin(TestDatabase::dsn());
  admin.exec(
      "DROP TABLE IF EXISTS it_watch_tickets; "
      "CREATE TABLE it_watch_tickets (id int, tenant_id int); "
      "ALTER TABLE it_watch_tickets ENABLE ROW LEVEL SECURITY; "
      "CREATE POLICY isolation ON it_watch_tickets "
      "  USING (tenant_id = current_setting('app.current_tenant_id')::int)");
  // The rls scan's own interval stays at its default 5 minutes: only rls_watch can be this fast.
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval", "1s",
                          "--rls.databases.include", "postgres"});
  auto unprotected = [&] {
    return pgpulse.scrape().value("pgpulse_rls_unprotected_tenant_tables",
                                  {{"datname", "postgres"}});
  };
  REQUIRE(eventually([&] { return unprotected() == 0; }, 15s));
  admin.exec("ALTER TABLE it_watch_tickets DISABLE ROW LEVEL SECURITY");
  auto switched_off = std::chrono::steady_clock::now();
  bool seen = eventually([&] { return unprotected() == 1; }, 10s);
  auto took = std::chrono::steady_clock::now() - switched_off;
  admin.exec("ALTER TABLE it_watch_tickets ENABLE ROW LEVEL SECURITY");
  CHECK(eventually([&] { return unprotected() == 0; }, 10s));
  admin.exec("DROP POLICY isolation ON it_watch_tickets");
  std::string diagnose;
  bool drift = eventually(
      [&] {
        diagnose = http_get(pgpulse.port(), "/diagnose").body;
        return diagnose.find(
                   "policy \\\"isolation\\\" on postgres:public.it_watch_tickets removed") !=
               std::string::npos;
      },
      10s);
  admin.exec("DROP TABLE it_watch_tickets");
  INFO("RLS off seen after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                             << " ms");
  CHECK(seen);  // within 10 s: the rls scan alone would take its 5-minute interval
  INFO(diagnose);
  CHECK(drift);
  CHECK(pgpulse.scrape().value("pgpulse_rls_catalog_changes_total").value_or(0) >= 3);
}
