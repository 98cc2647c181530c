// Basic auth on the real binary under pressure and change: a wrong-password flood from one
// address after a restart (cold cache) must not keep the right user out, and SIGHUP applies the
// web config's users to the running server, so a revoked password stops working at once.
#include <signal.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <map>
#include <thread>
#include <vector>

#include "raw_client.hpp"
#include "support.hpp"
#include "tls_support.hpp"

using namespace pgpulse::testing;

namespace {

// bcrypt of "s3cret-pass" at cost 10, as `htpasswd -nBC 10` makes it: ~50 ms per check.
const std::string kHash = "$2y$10$Rajs1Pu0K0oFDDcOQkdyKu7mCaIAACbBzLzQTc3FYVi2eFKnQnK.W";

std::vector<std::string> args(const std::string& web_config) {
  return {"--dsn", TestDatabase::dsn(),  "--target-name",     "main",    "--interval",
          "1s",    "--no-collector.rls", "--web.config-file", web_config};
}

std::string get(const std::string& path, const std::string& credentials) {
  return "GET " + path + " HTTP/1.1\r\nHost: pgpulse\r\n" + basic_auth_header(credentials) +
         "Connection: close\r\n\r\n";
}

}  // namespace

TEST_CASE("security - a wrong-password flood from one address does not keep the right user out",
          "[security][http]") {
  auto dir = fresh_dir("flood");
  write_file(dir / "web.yml", "basic_auth_users:\n  prometheus: " + kHash + "\n");
  PgpulseProcess pgpulse(args((dir / "web.yml").string()));
  int port = pgpulse.port();

  // 64 threads on 127.0.0.1 sending wrong passwords as fast as they are answered; the auth cache
  // is cold, as after a restart.
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::map<int, int> flood_statuses;
  std::vector<std::thread> flood;
  for (int i = 0; i < 64; ++i) {
    flood.emplace_back([&] {
      std::map<int, int> seen;
      auto deadline = std::chrono::steady_clock::now() + 30s;  // bounded, whatever happens
      while (!stop && std::chrono::steady_clock::now() < deadline) {
        ++seen[raw_status(port, get("/metrics", "prometheus:wrong-guess"), 3000ms)];
      }
      std::lock_guard lock(mutex);
      for (auto [status, count] : seen) flood_statuses[status] += count;
    });
  }
  std::this_thread::sleep_for(1500ms);  // the flood is at full strength

  // The right user from 127.0.0.2: its first request is verified within a second.
  auto started = std::chrono::steady_clock::now();
  int first = raw_status(port, get("/metrics", "prometheus:s3cret-pass"), 5000ms, "127.0.0.2");
  auto first_took = std::chrono::steady_clock::now() - started;
  // And with retries (as Prometheus would, one scrape interval later): the time to the first 200.
  int attempts = 1;
  bool served = first == 200;
  while (!served && std::chrono::steady_clock::now() - started < 20s) {
    ++attempts;
    served =
        raw_status(port, get("/metrics", "prometheus:s3cret-pass"), 5000ms, "127.0.0.2") == 200;
  }
  auto to_200 = std::chrono::steady_clock::now() - started;
  stop = true;
  for (auto& thread : flood) thread.join();
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::string statuses;
  for (auto [status, count] : flood_statuses) {
    statuses += " " + std::to_string(status) + ":" + std::to_string(count);
  }
  std::fprintf(stderr,
               "wrong-password flood: first request %d after %lld ms; first 200 after %lld ms "
               "and %d attempts; the flood got%s\n",
               first, static_cast<long long>(ms(first_took)), static_cast<long long>(ms(to_200)),
               attempts, statuses.c_str());
  CHECK(first == 200);
  CHECK(first_took < 1s);
  CHECK(flood_statuses[429] > 0);  // the flooding address was slowed down ...
  CHECK(flood_statuses[200] == 0);
  CHECK(pgpulse.log().find("failed basic-auth logins from 127.0.0.1") != std::string::npos);
  // ... and is forgiven once it stops: a right password from it is checked again.
  CHECK(eventually(
      [&] {
        return raw_status(port, get("/readyz", "someone:else")) == 401;  // checked, not 429
      },
      15s, 500ms));
}

TEST_CASE("security - SIGHUP applies the web config's users - a revoked password gets 401",
          "[security]") {
  auto dir = fresh_dir("revoke");
  auto web = dir / "web.yml";
  write_file(web, "basic_auth_users:\n  prometheus: " + kHash + "\n  leaver: " + kHash + "\n");
  PgpulseProcess pgpulse(args(web.string()));
  int port = pgpulse.port();
  auto status = [&](const std::string& credentials) {
    return raw_status(port, get("/metrics", credentials));
  };
  REQUIRE(status("leaver:s3cret-pass") == 200);  // verified, and now cached
  REQUIRE(status("prometheus:s3cret-pass") == 200);
  CHECK(status("newcomer:s3cret-pass") == 401);

  write_file(web, "basic_auth_users:\n  prometheus: " + kHash + "\n  newcomer: " + kHash + "\n");
  pgpulse.signal(SIGHUP);
  CHECK(eventually([&] { return status("leaver:s3cret-pass") == 401; }, 5s));
  CHECK(status("newcomer:s3cret-pass") == 200);
  CHECK(status("prometheus:s3cret-pass") == 200);
  CHECK(pgpulse.log().find("web config reloaded: 2 basic-auth user(s)") != std::string::npos);

  // An invalid file keeps the users that work, and says why.
  write_file(web, "basic_auth_users:\n  prometheus: NotAHash\n");
  pgpulse.signal(SIGHUP);
  CHECK(eventually(
      [&] {
        return pgpulse.log().find(
                   "web config reload failed, keeping the previous basic-auth "
                   "users") != std::string::npos;
      },
      5s));
  CHECK(status("prometheus:s3cret-pass") == 200);
  CHECK(status("newcomer:s3cret-pass") == 200);
  CHECK(status("leaver:s3cret-pass") == 401);
  CHECK(pgpulse.log().find("NotAHash") == std::string::npos);

  // No users at all would turn authentication off: refused, never applied by a reload.
  write_file(web, "");
  pgpulse.signal(SIGHUP);
  CHECK(eventually(
      [&] { return pgpulse.log().find("would turn authentication off") != std::string::npos; },
      5s));
  CHECK(status("prometheus:s3cret-pass") == 200);
  CHECK(raw_status(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 401);
  CHECK(pgpulse.log().find("s3cret-pass") == std::string::npos);
}
