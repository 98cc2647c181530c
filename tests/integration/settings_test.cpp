// Settings and restarts on a real server: curated settings in base units, an ALTER SYSTEM of a
// restart-only setting pending until the restart, the restart changing the start time, and the
// archiver that this makes apply failing, then archiving.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

// Whatever the test leaves, the server goes back to its configuration (and restarts if needed).
struct ResetArchiving {
  ~ResetArchiving() {
    try {
      Session admin(TestDatabase::dsn());
      bool on = admin.scalar("SHOW archive_mode") != "off";
      admin.exec("ALTER SYSTEM RESET archive_mode");
      admin.exec("ALTER SYSTEM RESET archive_command");
      admin.exec("SELECT pg_reload_conf()");
      if (on) {
        TestDatabase::control("stop");
        TestDatabase::control("start");
      }
    } catch (const std::exception&) {
    }
  }
};

}  // namespace

TEST_CASE("settings - pending restart, a restart's new start time, the archiver failing then ok",
          "[health][settings][faults]") {
  ResetArchiving reset;
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval",
                          "500ms", "--collector.settings.interval", "500ms"});
  REQUIRE(eventually(
      [&] { return pgpulse.scrape().value("pgpulse_postmaster_start_time_seconds").has_value(); },
      10s));
  Session admin(TestDatabase::dsn());
  auto scrape = pgpulse.scrape();
  double started = *scrape.value("pgpulse_postmaster_start_time_seconds");
  CHECK(started ==
        Approx(std::stod(admin.scalar("SELECT extract(epoch FROM pg_postmaster_start_time())")))
            .margin(0.001));
  CHECK(scrape.value("pgpulse_setting", {{"name", "shared_buffers"}}) == 64.0 * 1024 * 1024);
  CHECK(scrape.value("pgpulse_setting", {{"name", "work_mem"}}) ==
        std::stod(admin.scalar("SELECT setting::bigint * 1024 FROM pg_settings "
                               "WHERE name = 'work_mem'")));
  CHECK(scrape.value("pgpulse_setting", {{"name", "idle_in_transaction_session_timeout"}}) == 0);
  // pgpulse's own connection sets statement_timeout: its value is not the server's, so absent.
  CHECK_FALSE(scrape.value("pgpulse_setting", {{"name", "statement_timeout"}}));
  CHECK(scrape.value("pgpulse_settings_pending_restart") == 0);
  CHECK(scrape.value("pgpulse_collector_applicable", {{"collector", "archiver"}}) == 0);

  admin.exec("ALTER SYSTEM SET archive_mode = on");
  admin.exec("ALTER SYSTEM SET archive_command = 'false'");
  admin.exec("SELECT pg_reload_conf()");
  CHECK(eventually([&] { return pgpulse.scrape().value("pgpulse_settings_pending_restart") == 1; },
                   10s));
  auto diagnose = nlohmann::json::parse(http_get(pgpulse.port(), "/diagnose").body);
  CHECK(diagnose["targets"][0]["steps"][0]["finding"].get<std::string>().find(
            "1 setting(s) changed but waiting for a restart: archive_mode") != std::string::npos);

  TestDatabase::control("stop");
  TestDatabase::control("start");
  bool restarted = eventually(
      [&] {
        auto s = pgpulse.scrape();
        return s.value("pgpulse_postmaster_start_time_seconds").value_or(0) > started &&
               s.value("pgpulse_settings_pending_restart") == 0 &&
               s.value("pgpulse_collector_applicable", {{"collector", "archiver"}}) == 1;
      },
      20s);
  CHECK(restarted);

  // archive_command 'false': every attempt fails, and the archiver says so.
  Session after(TestDatabase::dsn());
  after.exec("DROP TABLE IF EXISTS it_archived; CREATE TABLE it_archived (id int)");
  after.exec("SELECT pg_switch_wal()");
  bool failing = eventually(
      [&] {
        auto s = pgpulse.scrape();
        return s.value("pgpulse_archiver_failing") == 1 &&
               s.value("pgpulse_archiver_failed_total").value_or(0) >= 1;
      },
      20s);
  CHECK(failing);
  after.exec("ALTER SYSTEM SET archive_command = 'true'");  // pretends to archive
  after.exec("SELECT pg_reload_conf()");
  bool archiving = eventually(
      [&] {
        auto s = pgpulse.scrape();
        return s.value("pgpulse_archiver_failing") == 0 &&
               s.value("pgpulse_archiver_archived_total").value_or(0) >= 1 &&
               s.value("pgpulse_archiver_last_archived_age_seconds").value_or(1e9) < 60;
      },
      90s);
  CHECK(archiving);
  after.exec("DROP TABLE it_archived");
}
