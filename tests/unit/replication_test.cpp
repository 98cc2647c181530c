// Pure functions over made-up rows: standby lag on a primary and on the standby itself (0 when
// everything received is replayed), slots, the archiver, checkpoints.
#include <catch2/catch.hpp>

#include "family_sample.hpp"

#include <cmath>

#include "collectors/archiver.hpp"
#include "collectors/checkpoints.hpp"
#include "collectors/replication.hpp"
#include "collectors/standby.hpp"
#include "core/exposition.hpp"

using namespace pgpulse::collectors;

namespace {

constexpr double kNow = 1'800'000'000;
const double kNan = std::nan("");

StandbyRow idle_standby() {
  StandbyRow row;
  row.received = 5000;
  row.replayed = 5000;
  row.last_replay = kNow - 86400;  // the primary has been idle for a day
  row.now = kNow;
  row.receiver_status = "streaming";
  row.receiver_flushed = 5000;
  row.receiver_latest_end = 5000;
  row.last_message = kNow - 3;
  return row;
}

pgpulse::core::StandbyLag standby(std::string app, std::string addr, double replay_lag,
                                  long long bytes) {
  pgpulse::core::StandbyLag s;
  s.application_name = std::move(app);
  s.client_addr = std::move(addr);
  s.state = "streaming";
  s.sync_state = "async";
  s.write_lag_seconds = replay_lag / 4;
  s.flush_lag_seconds = replay_lag / 2;
  s.replay_lag_seconds = replay_lag;
  s.lag_bytes = bytes;
  return s;
}

}  // namespace

TEST_CASE("standby replay lag is 0 when everything received is replayed, however idle") {
  auto row = idle_standby();
  CHECK(standby_replay_lag(row) == 0);
  auto details = summarize_standby(row);
  CHECK(details.replay_lag_bytes == 0);
  CHECK(details.receive_lag_bytes == 0);
  CHECK(details.wal_receiver_status == "streaming");
  CHECK(details.last_message_age_seconds == Approx(3));
  auto families = standby_families(details, true);
  CHECK(sample(families, "pgpulse_in_recovery") == 1);
  CHECK(sample(families, "pgpulse_standby_replay_lag_seconds") == 0);
  CHECK(sample(families, "pgpulse_standby_wal_receiver_status", {{"status", "streaming"}}) == 1);
  CHECK(sample(families, "pgpulse_standby_wal_receiver_status", {{"status", "stopped"}}) == 0);
}

TEST_CASE("standby replay lag is the last replayed commit's age while WAL waits") {
  auto row = idle_standby();
  row.received = 9000;  // 4000 bytes arrived, replay stuck (a conflict, a long query)
  row.last_replay = kNow - 120;
  row.receiver_latest_end = 12000;
  row.receiver_flushed = 9000;
  CHECK(standby_replay_lag(row) == Approx(120));
  auto details = summarize_standby(row);
  CHECK(details.replay_lag_bytes == 4000);
  CHECK(details.receive_lag_bytes == 3000);
  // No commit replayed yet while WAL waits: unknown, not 0.
  row.last_replay = kNan;
  CHECK_FALSE(standby_replay_lag(row));
  // Archive recovery, no WAL receiver: the commit's age is all there is.
  auto archive = idle_standby();
  archive.received.reset();
  archive.receiver_status.clear();
  archive.last_replay = kNow - 30;
  CHECK(standby_replay_lag(archive) == Approx(30));
  auto families = standby_families(summarize_standby(archive), true);
  CHECK(sample(families, "pgpulse_standby_wal_receiver_status", {{"status", "stopped"}}) == 1);
}

TEST_CASE("a promoted standby reports in_recovery 0 and nothing else") {
  auto families = standby_families(summarize_standby(idle_standby()), false);
  CHECK(sample(families, "pgpulse_in_recovery") == 0);
  CHECK_FALSE(sample(families, "pgpulse_standby_replay_lag_seconds"));
}

TEST_CASE("standbys: lag per standby, replicas by state, labels folded to the worst") {
  ReplicationRows rows;
  rows.standbys = {standby("replica1", "10.0.0.1", 2, 100), standby("replica2", "10.0.0.2", 9, 900),
                   standby("replica3", "10.0.0.3", 30, 50)};
  rows.standbys[2].sync_state = "sync";
  auto summary = summarize_replication(rows, 1);
  // One label value kept per label: every standby but the first folds into "other", reporting
  // the worst lag of those folded.
  REQUIRE(summary.standbys.size() == 2);
  auto families = replication_families(summary);
  CHECK(sample(families, "pgpulse_in_recovery") == 0);
  CHECK(sample(families, "pgpulse_replication_lag_seconds",
               {{"application_name", "other"}, {"client_addr", "other"}, {"kind", "replay"}}) ==
        30);
  CHECK(sample(families, "pgpulse_replication_lag_bytes", {{"application_name", "other"}}) == 900);
  CHECK(sample(families, "pgpulse_replicas", {{"state", "streaming"}, {"sync_state", "async"}}) ==
        2);
  CHECK(sample(families, "pgpulse_replicas", {{"state", "streaming"}, {"sync_state", "sync"}}) ==
        1);
  auto unfolded = replication_families(summarize_replication(rows, 50));
  CHECK(sample(unfolded, "pgpulse_replication_lag_seconds",
               {{"application_name", "replica2"}, {"kind", "flush"}}) == Approx(4.5));
}

TEST_CASE("slots: active, retained WAL and wal_status, one-hot") {
  ReplicationRows rows;
  rows.slots = {{"standby_1", "physical", true, 1000, "reserved"},
                {"forgotten", "physical", false, 5'000'000'000LL, "extended"},
                {"never_used", "logical", false, std::nullopt, ""}};
  auto families = replication_families(summarize_replication(rows, 50));
  CHECK(sample(families, "pgpulse_replication_slot_active", {{"slot_name", "forgotten"}}) == 0);
  CHECK(sample(families, "pgpulse_replication_slot_retained_bytes", {{"slot_name", "forgotten"}}) ==
        5e9);
  CHECK_FALSE(
      sample(families, "pgpulse_replication_slot_retained_bytes", {{"slot_name", "never_used"}}));
  CHECK(sample(families, "pgpulse_replication_slot_wal_status",
               {{"slot_name", "forgotten"}, {"status", "extended"}}) == 1);
  CHECK(sample(families, "pgpulse_replication_slot_wal_status",
               {{"slot_name", "forgotten"}, {"status", "reserved"}}) == 0);
  // Folded slots report the worst: inactive, the most WAL retained, the worst status.
  rows.slots.push_back({"zz_idle", "physical", false, 10, "unreserved"});
  auto folded = replication_families(summarize_replication(rows, 1));  // "forgotten" kept
  CHECK(sample(folded, "pgpulse_replication_slot_active",
               {{"slot_name", "other"}, {"slot_type", "physical"}}) == 0);
  CHECK(sample(folded, "pgpulse_replication_slot_retained_bytes",
               {{"slot_name", "other"}, {"slot_type", "physical"}}) == 1000);
  CHECK(sample(folded, "pgpulse_replication_slot_wal_status",
               {{"slot_name", "other"}, {"slot_type", "physical"}, {"status", "unreserved"}}) == 1);
  auto details = replication_details(rows);
  CHECK(details.slots.front().slot_name == "forgotten");  // inactive, most retained first
}

TEST_CASE("the archiver is failing only when the last attempt failed") {
  ArchiverRow row{10, 2, kNow - 60, kNow - 600, kNow};
  auto s = summarize_archiver(row);
  CHECK_FALSE(s.failing);  // failed before the last success
  CHECK(s.last_archived_age_seconds == Approx(60));
  row.last_failed = kNow - 5;
  CHECK(summarize_archiver(row).failing);
  ArchiverRow never{0, 3, kNan, kNow - 5, kNow};
  auto n = summarize_archiver(never);
  CHECK(n.failing);
  CHECK_FALSE(n.last_archived_age_seconds);
  auto families = archiver_families(n);
  CHECK(sample(families, "pgpulse_archiver_failing") == 1);
  CHECK_FALSE(sample(families, "pgpulse_archiver_last_archived_age_seconds"));
  CHECK(sample(families, "pgpulse_archiver_failed_total") == 3);
  CHECK_FALSE(summarize_archiver(ArchiverRow{0, 0, kNan, kNan, kNow}).failing);
}

TEST_CASE("the archiver applies where it runs") {
  CHECK_FALSE(archiver_applies("off", false).applicable);
  CHECK(archiver_applies("on", false).applicable);
  CHECK_FALSE(archiver_applies("on", true).applicable);
  CHECK(archiver_applies("always", true).applicable);
}

TEST_CASE("checkpoints by kind, time by phase, buffers by writer") {
  CheckpointRow row{7, 3, 12.5, 0.25, 1000, 200, 30, 4, 5000};
  auto families = checkpoint_families(row);
  CHECK(sample(families, "pgpulse_checkpoints_total", {{"kind", "requested"}}) == 3);
  CHECK(sample(families, "pgpulse_checkpoint_seconds_total", {{"phase", "write"}}) == 12.5);
  CHECK(sample(families, "pgpulse_buffers_written_total", {{"by", "backend"}}) == 30);
  CHECK(sample(families, "pgpulse_buffers_written_total", {{"by", "bgwriter"}}) == 200);
  CHECK(std::string(checkpoints_sql(160000)).find("pg_stat_checkpointer") == std::string::npos);
  CHECK(std::string(checkpoints_sql(170000)).find("pg_stat_io") != std::string::npos);
}

TEST_CASE("standbys are named from the tick's pg_stat_activity by their walsender's pid") {
  pgpulse::collectors::ReplicationRows rows;
  rows.standbys.resize(3);
  rows.standby_pids = {41, 42, 43};
  pgpulse::collectors::ActivitySample activity;
  activity.rows.resize(2);
  activity.rows[0].pid = 42;
  activity.rows[0].application_name = "replica-b";
  activity.rows[0].client_addr = "10.0.0.7";
  activity.rows[1].pid = 41;
  activity.rows[1].application_name = "replica-a";  // over a Unix socket: no address
  pgpulse::collectors::name_standbys(rows, activity);
  CHECK(rows.standbys[0].application_name == "replica-a");
  CHECK(rows.standbys[0].client_addr == "local");
  CHECK(rows.standbys[1].application_name == "replica-b");
  CHECK(rows.standbys[1].client_addr == "10.0.0.7");
  CHECK(rows.standbys[2].application_name.empty());  // started after the sample
  CHECK(rows.standbys[2].client_addr == "local");
}
