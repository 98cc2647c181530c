// A real streaming standby of the test server (scripts/pg_standby.sh: a base backup through a
// physical slot), watched as a second target: lag series on the primary, in_recovery 1 and a
// replay lag of 0 on the idle standby, the primary-only and standby-only collectors not
// applicable on the other, and an inactive slot retaining WAL.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

// The standby and the slots of one test; stopped and dropped whatever happens.
class Standby {
 public:
  explicit Standby(std::string slot) : slot_(std::move(slot)) {
    char path[] = "/tmp/pgpulse-it-standby.XXXXXX";
    REQUIRE(::mkdtemp(path) != nullptr);
    dir_ = path;
    std::string output;
    int rc = run_command({std::string(PGPULSE_SOURCE_DIR) + "/scripts/pg_standby.sh", "create",
                          TestDatabase::env("PGPULSE_TEST_PGDIR"), dir_, slot_},
                         output);
    INFO(output);
    REQUIRE(rc == 0);
    std::ifstream port(dir_ + "/port");
    port >> port_;
  }
  ~Standby() {
    std::string output;
    run_command({std::string(PGPULSE_SOURCE_DIR) + "/scripts/pg_standby.sh", "stop", dir_}, output);
    try {
      Session admin(TestDatabase::dsn());
      admin.exec(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
          "WHERE slot_name LIKE 'it_%'");
    } catch (const std::exception&) {
    }
    std::filesystem::remove_all(dir_);
  }
  std::string dsn() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
  }

 private:
  std::string slot_, dir_;
  int port_ = 0;
};

nlohmann::json diagnose_step(const PgpulseProcess& pgpulse, const std::string& target,
                             const std::string& id) {
  auto body = nlohmann::json::parse(http_get(pgpulse.port(), "/diagnose").body);
  for (const auto& t : body["targets"]) {
    if (t["target"] != target) continue;
    for (const auto& step : t["steps"]) {
      if (step["id"] == id) return step;
    }
  }
  return nlohmann::json::object();
}

}  // namespace

TEST_CASE("replication - a streaming standby: lag on the primary, replay lag 0 when idle",
          "[health][replication]") {
  Standby standby("it_standby_slot");
  auto config = write_temp_file("replication.yml",
                                "interval: 500ms\ntargets:\n"
                                "  - name: primary\n    dsn: " +
                                    TestDatabase::dsn() +
                                    "\n  - name: standby\n    dsn: " + standby.dsn() + "\n");
  PgpulseProcess pgpulse({"--config", config});
  const std::map<std::string, std::string> primary{{"target", "primary"}},
      on_standby{{"target", "standby"}};
  auto with = [](std::map<std::string, std::string> labels,
                 std::map<std::string, std::string> more) {
    labels.insert(more.begin(), more.end());
    return labels;
  };
  bool streaming = eventually(
      [&] {
        auto s = pgpulse.scrape();
        return s.value("pgpulse_replicas", with(primary, {{"state", "streaming"}})) == 1 &&
               s.value("pgpulse_replication_lag_seconds",
                       with(primary, {{"application_name", "pgpulse_standby"},
                                      {"client_addr", "127.0.0.1"},
                                      {"kind", "replay"}}))
                   .has_value() &&
               s.value("pgpulse_replication_slot_active",
                       with(primary, {{"slot_name", "it_standby_slot"}})) == 1 &&
               s.value("pgpulse_in_recovery", on_standby) == 1 &&
               s.value("pgpulse_standby_wal_receiver_status",
                       with(on_standby, {{"status", "streaming"}})) == 1;
      },
      20s);
  auto scrape = pgpulse.scrape();
  INFO(http_get(pgpulse.port(), "/readyz").body);
  REQUIRE(streaming);
  CHECK(scrape.value("pgpulse_in_recovery", primary) == 0);
  CHECK(scrape.value("pgpulse_collector_applicable",
                     with(on_standby, {{"collector", "replication"}})) == 0);
  CHECK(scrape.value("pgpulse_collector_applicable", with(primary, {{"collector", "standby"}})) ==
        0);
  CHECK_FALSE(
      scrape.value("pgpulse_collector_success", with(on_standby, {{"collector", "replication"}})));

  // A write on the primary reaches the standby; then nothing happens for a while. The replay lag
  // must read 0 (everything received is replayed), not the age of that last commit.
  Session admin(TestDatabase::dsn());
  admin.exec(
      "DROP TABLE IF EXISTS it_replicated; CREATE TABLE it_replicated AS "
      "SELECT generate_series(1, 1000) AS id");
  std::this_thread::sleep_for(4s);
  bool idle_zero = eventually(
      [&] {
        auto s = pgpulse.scrape();
        return s.value("pgpulse_standby_replay_lag_seconds", on_standby) == 0 &&
               s.value("pgpulse_standby_replay_lag_bytes", on_standby) == 0 &&
               s.value("pgpulse_replication_lag_bytes",
                       with(primary, {{"application_name", "pgpulse_standby"}})) == 0;
      },
      10s);
  CHECK(idle_zero);
  Session replica(standby.dsn());
  CHECK(replica.scalar("SELECT count(*) FROM it_replicated") == "1000");
  double since_commit = std::stod(
      replica.scalar("SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())"));
  CHECK(since_commit >= 3);  // what pg_replication_lag-style lag would have said
  CHECK(diagnose_step(pgpulse, "standby", "replication")["severity"] == "ok");
  CHECK(diagnose_step(pgpulse, "primary", "replication")["severity"] == "ok");

  // The standby's feedback (hot_standby_feedback) sets its slot's xmin: a horizon holder, named.
  CHECK(eventually(
      [&] {
        return pgpulse.scrape().value("pgpulse_xmin_horizon_holder_info",
                                      with(primary, {{"holder", "replication_slot"},
                                                     {"name", "it_standby_slot"}})) == 1;
      },
      20s));

  // A slot nobody reads: inactive, and it keeps every byte of WAL written after it.
  admin.exec("SELECT pg_create_physical_replication_slot('it_inactive_slot', true)");
  admin.exec("INSERT INTO it_replicated SELECT generate_series(1, 50000)");
  admin.exec("SELECT pg_switch_wal()");
  const auto inactive = with(primary, {{"slot_name", "it_inactive_slot"}});
  bool retained = eventually(
      [&] {
        auto s = pgpulse.scrape();
        return s.value("pgpulse_replication_slot_active", inactive) == 0 &&
               s.value("pgpulse_replication_slot_retained_bytes", inactive).value_or(0) > 1e6 &&
               s.value("pgpulse_replication_slot_wal_status",
                       with(inactive, {{"status", "reserved"}})) == 1;
      },
      10s);
  CHECK(retained);
  admin.exec("DROP TABLE it_replicated");
}
