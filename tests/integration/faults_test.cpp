// PostgreSQL at its worst, against the real server: hung (every process SIGSTOPped), out of
// connection slots, its password changed under pgpulse, killed and restarted. pgpulse must keep
// answering fast, say what is wrong, never spin, and recover by itself.
// (Dead database, wrong password from the start, one target of several down and SIGTERM with a
// mute listener are in foundation_test.cpp.)
#include <signal.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

std::vector<std::string> fast(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"--target-name",          "main", "--interval",           "500ms",
                                "--pg.statement-timeout", "1s",   "--pg.connect-timeout", "1s",
                                "--no-collector.rls"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> with_dsn(const std::string& dsn, std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), {"--dsn", dsn});
  return fast(extra);
}

// The postmaster's pid from its pid file, and its children (backends, checkpointer, ...).
std::vector<int> server_pids() {
  std::ifstream in(TestDatabase::env("PGPULSE_TEST_PGDIR") + "/data/postmaster.pid");
  int postmaster = 0;
  in >> postmaster;
  REQUIRE(postmaster > 0);
  std::vector<int> pids{postmaster};
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {  // pgrep -P, by hand
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');  // "pid (comm) state ppid ..."; comm may hold spaces
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 2));
    std::string state;
    int ppid = 0;
    fields >> state >> ppid;
    if (ppid == postmaster) pids.push_back(std::stoi(name));
  }
  return pids;
}

// SIGSTOPs the whole server (the postmaster first, so it forks nothing new); SIGCONT on thaw()
// or destruction, so a failed assertion never leaves the shared test server frozen.
class FrozenServer {
 public:
  FrozenServer() : pids_(server_pids()) {
    for (int pid : pids_) ::kill(pid, SIGSTOP);
  }
  ~FrozenServer() { thaw(); }
  void thaw() {
    for (auto it = pids_.rbegin(); it != pids_.rend(); ++it) ::kill(*it, SIGCONT);
    pids_.clear();
  }
  std::size_t size() const { return pids_.size(); }

 private:
  std::vector<int> pids_;
};

std::chrono::milliseconds time_scrape(int port, int& status) {
  auto started = std::chrono::steady_clock::now();
  status = http_get(port, "/metrics", 3000ms).status;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               started);
}

double metric(const PgpulseProcess& pgpulse, const std::string& name,
              const std::map<std::string, std::string>& labels = {}) {
  return pgpulse.scrape().value(name, labels).value_or(-1);
}

}  // namespace

TEST_CASE(
    "faults - a hung database - SIGSTOPped - never slows /metrics - up goes 0 - SIGCONT recovers",
    "[faults][matrix]") {
  PgpulseProcess pgpulse(with_dsn(TestDatabase::dsn()));
  REQUIRE(eventually([&] { return metric(pgpulse, "pgpulse_up") == 1; }, 10s));

  FrozenServer frozen;
  REQUIRE(frozen.size() >= 3);  // postmaster, pgpulse's backend, background workers
  auto frozen_at = std::chrono::steady_clock::now();
  std::chrono::milliseconds slowest{0};
  int failures = 0;
  bool went_down = false;
  std::chrono::milliseconds down_after{0};
  while (std::chrono::steady_clock::now() - frozen_at < 8s) {
    int status = 0;
    auto took = time_scrape(pgpulse.port(), status);
    slowest = std::max(slowest, took);
    failures += status != 200;
    if (!went_down && status == 200 && metric(pgpulse, "pgpulse_up") == 0) {
      went_down = true;
      down_after = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - frozen_at);
    }
    std::this_thread::sleep_for(200ms);
  }
  auto scrape = pgpulse.scrape();
  auto ready = http_get(pgpulse.port(), "/readyz");
  frozen.thaw();  // before any REQUIRE

  INFO("slowest scrape " << slowest.count() << "ms; down after " << down_after.count() << "ms");
  CHECK(failures == 0);
  CHECK(slowest < 500ms);  // the scrape never waits on the database
  CHECK(went_down);
  // The query deadline is statement_timeout (1s) + 1s; one interval (500ms) to notice.
  CHECK(down_after < 4s);
  CHECK(scrape.value("pgpulse_collector_success", {{"collector", "connections"}}) == 0);
  CHECK(scrape.value("pgpulse_connect_errors_total", {{"reason", "timeout"}}).value_or(0) >= 1);
  CHECK_FALSE(scrape.value("pgpulse_connection_saturation_ratio").has_value());
  CHECK(ready.status == 503);
  CHECK(ready.body.find("target main: down (timeout)") != std::string::npos);

  CHECK(eventually(
      [&] {
        auto after = pgpulse.scrape();
        return after.value("pgpulse_up") == 1 &&
               after.value("pgpulse_collector_success", {{"collector", "connections"}}) == 1;
      },
      15s));
  CHECK(eventually([&] { return http_get(pgpulse.port(), "/readyz").status == 200; }, 10s));
}

TEST_CASE("faults - killed and restarted - everything recovers within two intervals",
          "[faults][matrix]") {
  PgpulseProcess pgpulse(with_dsn(TestDatabase::dsn(), {"--interval", "2s"}));
  REQUIRE(eventually([&] { return metric(pgpulse, "pgpulse_up") == 1; }, 10s));
  TestDatabase::control("kill");
  bool down = eventually([&] { return metric(pgpulse, "pgpulse_up") == 0; }, 10s);
  int status = 0;
  auto took = time_scrape(pgpulse.port(), status);
  TestDatabase::control("start");
  auto restarted = std::chrono::steady_clock::now();
  CHECK(down);
  CHECK(status == 200);
  CHECK(took < 500ms);
  bool recovered = eventually(
      [&] {
        auto scrape = pgpulse.scrape();
        if (scrape.value("pgpulse_up") != 1) return false;
        for (const auto* collector : {"connections", "idle_trend", "long_queries", "locks"}) {
          if (scrape.value("pgpulse_collector_success", {{"collector", collector}}) != 1)
            return false;
        }
        return true;
      },
      10s, 50ms);
  auto took_to_recover = std::chrono::steady_clock::now() - restarted;
  INFO("recovered after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took_to_recover).count() << "ms");
  CHECK(recovered);
  CHECK(took_to_recover <= 4s + 500ms);  // two intervals of 2s, plus scrape polling
}

TEST_CASE("faults - connection slots exhausted - saturation 1 - too_many_connections counted",
          "[faults][matrix]") {
  Session admin(TestDatabase::dsn());
  admin.exec("DROP ROLE IF EXISTS it_monitor");
  admin.exec("DROP ROLE IF EXISTS it_filler");
  admin.exec("CREATE ROLE it_monitor LOGIN");
  admin.exec("GRANT pg_monitor TO it_monitor");
  admin.exec("CREATE ROLE it_filler LOGIN");
  PgpulseProcess holder(
      with_dsn(TestDatabase::dsn("user=it_monitor"), {"--target-name", "holder"}));
  REQUIRE(eventually([&] { return metric(holder, "pgpulse_up") == 1; }, 10s));

  // Other clients take every slot an ordinary role can have.
  std::vector<Session> fillers;
  std::string refusal;
  for (int i = 0; i < 200; ++i) {
    try {
      fillers.emplace_back(TestDatabase::dsn("user=it_filler application_name=it-filler"));
    } catch (const std::exception& e) {
      refusal = e.what();
      break;
    }
  }
  INFO("opened " << fillers.size() << " filler connections; refused with: " << refusal);
  CHECK((refusal.find("too many clients") != std::string::npos ||
         refusal.find("remaining connection slots are reserved") != std::string::npos));

  // The holder keeps its connection and sees the server full.
  bool saturated = eventually(
      [&] {
        return holder.scrape().value("pgpulse_connection_saturation_ratio").value_or(0) >= 1.0;
      },
      10s);
  double ratio = holder.scrape().value("pgpulse_connection_saturation_ratio").value_or(0);
  double up = metric(holder, "pgpulse_up");

  // A pgpulse that has to connect now cannot, and says why.
  PgpulseProcess late(with_dsn(TestDatabase::dsn("user=it_monitor"), {"--target-name", "late"}));
  bool counted = eventually(
      [&] {
        return late.scrape()
                   .value("pgpulse_connect_errors_total", {{"reason", "too_many_connections"}})
                   .value_or(0) >= 2;
      },
      10s);
  auto ready = http_get(late.port(), "/readyz");
  auto late_log = late.log();
  fillers.clear();  // give the slots back before any REQUIRE

  CHECK(saturated);
  CHECK(ratio == Approx(1.0));
  CHECK(up == 1);
  CHECK(counted);
  CHECK(ready.status == 503);
  CHECK(ready.body.find("target late: never connected (too_many_connections)") !=
        std::string::npos);
  CHECK(late_log.find("cannot connect (too_many_connections)") != std::string::npos);
  // ... and once slots free up, it connects without a restart.
  CHECK(eventually([&] { return metric(late, "pgpulse_up") == 1; }, 10s));
}

TEST_CASE("faults - the password changed after start - auth_failed counted without a tight loop",
          "[faults][matrix]") {
  Session admin(TestDatabase::dsn());
  admin.exec("DROP ROLE IF EXISTS it_rotate");
  admin.exec("CREATE ROLE it_rotate LOGIN PASSWORD 'first-Pa55-word' IN ROLE password_auth");
  admin.exec("GRANT pg_monitor TO it_rotate");
  auto password_file = write_temp_file("rotate-password", "first-Pa55-word\n");
  PgpulseProcess pgpulse(
      with_dsn(TestDatabase::dsn("user=it_rotate"), {"--password-file", password_file}));
  REQUIRE(eventually([&] { return metric(pgpulse, "pgpulse_up") == 1; }, 10s));

  admin.exec("ALTER ROLE it_rotate PASSWORD 'second-Pa55-word'");
  admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'it_rotate'");
  auto auth_failed = [&] {
    return pgpulse.scrape()
        .value("pgpulse_connect_errors_total", {{"reason", "auth_failed"}})
        .value_or(0);
  };
  REQUIRE(eventually([&] { return auth_failed() >= 1; }, 10s));
  CHECK(metric(pgpulse, "pgpulse_up") == 0);

  // Over 5 seconds at a 500ms interval: a handful of attempts, not thousands.
  double before = auth_failed();
  std::this_thread::sleep_for(5s);
  double attempts = auth_failed() - before;
  INFO("connection attempts in 5s: " << attempts);
  CHECK(attempts >= 2);
  CHECK(attempts <= 5000 / 250 + 2);  // never faster than the backoff's floor (half the cap)

  auto log = pgpulse.log();
  std::size_t warnings = 0;
  for (auto at = log.find("cannot connect (auth_failed)"); at != std::string::npos;
       at = log.find("cannot connect (auth_failed)", at + 1)) {
    ++warnings;
  }
  CHECK(warnings == 1);  // logged when the failure starts, not on every retry
  CHECK(http_get(pgpulse.port(), "/readyz").body.find("down (auth_failed)") != std::string::npos);

  // The secret is rotated in the file too: pgpulse reads it on every attempt and recovers.
  write_temp_file("rotate-password", "second-Pa55-word\n");
  CHECK(eventually([&] { return metric(pgpulse, "pgpulse_up") == 1; }, 10s));
  auto everything = pgpulse.log() + pgpulse.scrape().text() +
                    http_get(pgpulse.port(), "/readyz").body +
                    http_get(pgpulse.port(), "/activity").body;
  CHECK(everything.find("first-Pa55-word") == std::string::npos);
  CHECK(everything.find("second-Pa55-word") == std::string::npos);
}
