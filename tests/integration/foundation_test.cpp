// The foundation against a real PostgreSQL: connection counts and saturation move when clients
// connect, the daemon survives the database going away, and the CLI behaves.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <thread>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

std::vector<std::string> fast(std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval",
                                "500ms", "--log.level",       "debug"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

bool promtool_accepts(const std::string& body) {
  auto path = write_temp_file("scrape.prom", body);
  return std::system(("promtool check metrics < " + path).c_str()) == 0;
}

}  // namespace

TEST_CASE("pgpulse connects - reports the server and passes promtool", "[foundation][matrix]") {
  PgpulseProcess pgpulse(fast());
  REQUIRE(eventually(
      [&] {
        return pgpulse.scrape().value("pgpulse_up", {{"target", "main"}}) == 1;
      },
      10s));
  auto scrape = pgpulse.scrape();
  CHECK(scrape.value("pgpulse_max_connections", {{"target", "main"}}) == 100);
  CHECK(scrape.value("pgpulse_reserved_connections", {{"target", "main"}}) == 3);
  // The server's own number, whichever major scripts/pg_test_server.sh started; and that major is
  // the one the environment names (the matrix in scripts/test.sh runs this on each of them).
  auto server_version = std::stoi(Session(TestDatabase::dsn()).scalar("SHOW server_version_num"));
  CHECK(scrape.value("pgpulse_server_version_num") == server_version);
  if (const char* major = std::getenv("PGPULSE_TEST_PGMAJOR")) {
    CHECK(server_version / 10000 == std::atoi(major));
  }
  CHECK(scrape.value("pgpulse_build_info").value_or(0) == 1);
  CHECK(scrape.value("pgpulse_collector_success", {{"collector", "connections"}}) == 1);
  CHECK(scrape.value("pgpulse_connect_errors_total", {{"reason", "refused"}}) == 0);
  CHECK(scrape.value("pgpulse_config_last_reload_successful") == 1);
  CHECK(promtool_accepts(scrape.text()));
  CHECK(http_get(pgpulse.port(), "/readyz").status == 200);
  CHECK(http_get(pgpulse.port(), "/nope").status == 404);
  // pgpulse excludes its own backend from what it reports
  CHECK_FALSE(scrape.value("pgpulse_connections", {{"application_name", "pgpulse"}}).has_value());
}

TEST_CASE("held client connections move the counts and the saturation ratio",
          "[foundation][matrix]") {
  PgpulseProcess pgpulse(fast());
  // After the first per-database visits, whose own short connection holds a slot (so counts in
  // the saturation) while it lasts: none left in pg_stat_activity, then a poll after that.
  Session admin(TestDatabase::dsn());
  REQUIRE(eventually(
      [&] {
        auto scrape = pgpulse.scrape();
        return scrape.value("pgpulse_up") == 1 &&
               scrape.value("pgpulse_collector_success", {{"collector", "rls"}}) == 1 &&
               admin.scalar(
                   "SELECT count(*) FROM pg_stat_activity "
                   "WHERE application_name = 'pgpulse-catalog'") == "0";
      },
      10s));
  std::this_thread::sleep_for(1200ms);  // more than two intervals
  double before = pgpulse.scrape().value("pgpulse_connection_saturation_ratio").value();
  std::vector<Session> held;
  for (int i = 0; i < 7; ++i) held.emplace_back(TestDatabase::dsn("application_name=it-holder"));
  held[0].exec("BEGIN");
  held[0].exec("SELECT 1");  // leaves one idle in transaction
  auto idle = [&] {
    return pgpulse.scrape().value("pgpulse_connections",
                                  {{"application_name", "it-holder"}, {"state", "idle"}});
  };
  REQUIRE(eventually([&] { return idle() == 6; }, 10s));
  auto scrape = pgpulse.scrape();
  CHECK(scrape.value("pgpulse_connections", {{"application_name", "it-holder"},
                                             {"state", "idle in transaction"},
                                             {"datname", "postgres"},
                                             {"usename", "postgres"}}) == 1);
  double after = scrape.value("pgpulse_connection_saturation_ratio").value();
  CHECK(after - before == Approx(7.0 / 97.0).margin(1e-9));  // admin was counted in both
  held.clear();
  CHECK(eventually([&] { return !idle().has_value(); }, 10s));
}

TEST_CASE("database and role connection limits get saturation ratios", "[foundation][matrix]") {
  Session admin(TestDatabase::dsn());
  admin.exec("DROP ROLE IF EXISTS it_limited");
  admin.exec("CREATE ROLE it_limited LOGIN CONNECTION LIMIT 4");
  PgpulseProcess pgpulse(fast());
  std::vector<Session> held;
  for (int i = 0; i < 3; ++i) held.emplace_back(TestDatabase::dsn("user=it_limited"));
  CHECK(eventually(
      [&] {
        return pgpulse.scrape().value("pgpulse_role_connection_saturation_ratio",
                                      {{"usename", "it_limited"}}) == 0.75;
      },
      10s));
  CHECK(pgpulse.scrape().value("pgpulse_role_connection_limit", {{"usename", "it_limited"}}) == 4);
  held.clear();
  admin.exec("DROP ROLE it_limited");
}

TEST_CASE("labels past the limit fold into other - and the folding is counted",
          "[foundation][matrix]") {
  PgpulseProcess pgpulse(fast({"--labels.max-values", "2"}));
  std::vector<Session> held;
  for (int i = 0; i < 5; ++i) {
    held.emplace_back(TestDatabase::dsn("application_name=it-fold-" + std::to_string(i)));
  }
  REQUIRE(eventually(
      [&] {
        return pgpulse.scrape().value("pgpulse_label_values_folded",
                                      {{"label", "application_name"}}) == 3;  // 5 - 2
      },
      10s));
  auto scrape = pgpulse.scrape();
  CHECK(scrape.value("pgpulse_connections", {{"application_name", "other"}}).has_value());
  CHECK(promtool_accepts(scrape.text()));
}

TEST_CASE("hostile application names stay valid exposition text", "[foundation][matrix]") {
  PgpulseProcess pgpulse(fast());
  Session hostile(TestDatabase::dsn());
  hostile.exec("SET application_name = 'quote\" back\\ new\nline " + std::string(80, 'x') + "'");
  REQUIRE(eventually(
      [&] { return pgpulse.scrape().text().find("quote\\\" back\\\\ new") != std::string::npos; },
      10s));
  CHECK(promtool_accepts(pgpulse.scrape().text()));
}

TEST_CASE("a dead database gives pgpulse_up 0 while /metrics answers - then recovers",
          "[foundation][faults]") {
  PgpulseProcess pgpulse(fast());
  REQUIRE(eventually([&] { return pgpulse.scrape().value("pgpulse_up") == 1; }, 10s));
  TestDatabase::control("kill");
  bool down = eventually(
      [&] {
        auto scrape = pgpulse.scrape();
        return scrape.value("pgpulse_up") == 0 &&
               scrape.value("pgpulse_connect_errors_total", {{"reason", "refused"}}).value_or(0) >=
                   1;
      },
      10s);
  auto scrape = pgpulse.scrape();
  double refused = scrape.value("pgpulse_connect_errors_total", {{"reason", "refused"}}).value();
  bool collector_failed = scrape.value("pgpulse_collector_success") == 0;
  bool data_dropped = !scrape.value("pgpulse_connection_saturation_ratio").has_value();
  auto ready = http_get(pgpulse.port(), "/readyz");
  TestDatabase::control("start");  // before any REQUIRE, so a failure never leaves it down
  CHECK(down);
  CHECK(refused >= 1);
  CHECK(collector_failed);
  CHECK(data_dropped);  // stale values must not look fresh
  CHECK(ready.status == 503);
  CHECK(ready.body.find("target main: down (refused)") != std::string::npos);
  CHECK(eventually([&] { return pgpulse.scrape().value("pgpulse_up") == 1; }, 10s));
  CHECK(eventually(
      [&] { return pgpulse.scrape().value("pgpulse_connection_saturation_ratio").has_value(); },
      5s));
}

TEST_CASE("a wrong password is counted as auth_failed and never logged", "[foundation][faults]") {
  Session admin(TestDatabase::dsn());
  admin.exec("DROP ROLE IF EXISTS it_pw");
  admin.exec("CREATE ROLE it_pw LOGIN PASSWORD 'right-password' IN ROLE password_auth");
  auto password_file = write_temp_file("wrong-password", "wrong-password-s3cret\n");
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn("user=it_pw"), "--target-name", "pw",
                          "--password-file", password_file, "--interval", "500ms"});
  CHECK(eventually(
      [&] {
        return pgpulse.scrape()
                   .value("pgpulse_connect_errors_total", {{"reason", "auth_failed"}})
                   .value_or(0) >= 2;
      },
      10s));
  CHECK(pgpulse.scrape().value("pgpulse_up") == 0);
  CHECK(pgpulse.log().find("wrong-password-s3cret") == std::string::npos);
  CHECK(pgpulse.scrape().text().find("wrong-password-s3cret") == std::string::npos);
  auto right_file = write_temp_file("right-password", "right-password\n");
  PgpulseProcess good({"--dsn", TestDatabase::dsn("user=it_pw"), "--password-file", right_file,
                       "--interval", "500ms"});
  CHECK(eventually([&] { return good.scrape().value("pgpulse_up") == 1; }, 10s));
  CHECK(good.log().find("right-password") == std::string::npos);
}

TEST_CASE("SIGTERM stops pgpulse within 2 seconds even while it waits on a hung server",
          "[foundation][faults]") {
  // A listener that accepts and never answers: the connect waits on its deadline.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  ::listen(listener, 16);
  std::string dsn = "host=127.0.0.1 port=" + std::to_string(ntohs(address.sin_port)) +
                    " user=postgres dbname=postgres";
  PgpulseProcess pgpulse(
      {"--dsn", dsn, "--target-name", "hung", "--pg.connect-timeout", "30s", "--interval", "1s"});
  std::this_thread::sleep_for(1500ms);  // the first connect is now waiting on the mute server
  auto metrics = http_get(pgpulse.port(), "/metrics", 1000ms);
  CHECK(metrics.status == 200);  // never blocked by the hung target
  CHECK(Scrape(metrics.body).value("pgpulse_up", {{"target", "hung"}}) == 0);
  auto started = std::chrono::steady_clock::now();
  pgpulse.signal(SIGTERM);
  int code = pgpulse.wait_exit(5s);
  auto took = std::chrono::steady_clock::now() - started;
  ::close(listener);
  CHECK(code == 0);
  CHECK(took < 2s);
}

TEST_CASE("SIGHUP reloads the file - a bad reload keeps the old config and says so",
          "[foundation]") {
  auto path =
      write_temp_file("reload.yml", "targets:\n  - name: first\n    dsn: " + TestDatabase::dsn() +
                                        "\ninterval: 500ms\n");
  PgpulseProcess pgpulse({"--config", path});
  REQUIRE(eventually(
      [&] {
        return pgpulse.scrape().value("pgpulse_up", {{"target", "first"}}) == 1;
      },
      10s));
  write_temp_file("reload.yml", "targets:\n  - name: first\n    dsn: " + TestDatabase::dsn() +
                                    "\ninterval: soon\n");
  pgpulse.signal(SIGHUP);
  CHECK(eventually(
      [&] { return pgpulse.scrape().value("pgpulse_config_last_reload_successful") == 0; }, 5s));
  CHECK(pgpulse.log().find("reload failed, keeping the previous configuration: " + path +
                           ":4: key \"interval\": invalid duration \"soon\"") != std::string::npos);
  CHECK(pgpulse.scrape().value("pgpulse_up", {{"target", "first"}}) == 1);
  write_temp_file("reload.yml", "targets:\n  - name: second\n    dsn: " + TestDatabase::dsn() +
                                    "\ninterval: 500ms\n");
  pgpulse.signal(SIGHUP);
  CHECK(eventually(
      [&] {
        auto scrape = pgpulse.scrape();
        return scrape.value("pgpulse_config_last_reload_successful") == 1 &&
               scrape.value("pgpulse_up", {{"target", "second"}}) == 1 &&
               !scrape.value("pgpulse_up", {{"target", "first"}}).has_value();
      },
      10s));
}

TEST_CASE("one target down leaves the others unaffected", "[foundation][faults]") {
  auto path = write_temp_file(
      "two.yml", "interval: 500ms\ntargets:\n  - name: good\n    dsn: " + TestDatabase::dsn() +
                     "\n  - name: bad\n    dsn: host=127.0.0.1 port=1\n");
  PgpulseProcess pgpulse({"--config", path});
  CHECK(eventually(
      [&] {
        auto scrape = pgpulse.scrape();
        return scrape.value("pgpulse_up", {{"target", "good"}}) == 1 &&
               scrape.value("pgpulse_up", {{"target", "bad"}}) == 0 &&
               scrape.value("pgpulse_connect_errors_total",
                            {{"target", "bad"}, {"reason", "refused"}})
                       .value_or(0) >= 1;
      },
      10s));
  auto ready = http_get(pgpulse.port(), "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("target bad: never connected (refused)") != std::string::npos);
}

TEST_CASE("the command line: --help - --version - --check-config", "[foundation][cli]") {
  std::string output;
  CHECK(run_command({pgpulse_binary(), "--help"}, output) == 0);
  CHECK(output.find("--collector.connections.interval") != std::string::npos);
  CHECK(run_command({pgpulse_binary(), "--version"}, output) == 0);
  CHECK(output.rfind("pgpulse ", 0) == 0);
  CHECK(run_command({pgpulse_binary(), "--check-config", "--dsn", "postgresql://u:topsecret@db/x"},
                    output) == 0);
  CHECK(output.find("configuration OK") != std::string::npos);
  CHECK(output.find("topsecret") == std::string::npos);
  auto bad = write_temp_file("bad-check.yml", "interval: 5s\nlog:\n  level: shouty\n");
  CHECK(run_command({pgpulse_binary(), "--check-config", "--config", bad}, output) == 2);
  CHECK(output.find(bad + ":3: key \"log.level\": invalid value \"shouty\"") != std::string::npos);
  CHECK(run_command({pgpulse_binary(), "--dsn", "host=x password='oops"}, output) == 2);
  CHECK(output.find("oops") == std::string::npos);
}
