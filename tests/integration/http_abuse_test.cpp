// Hostile HTTP clients against the real pgpulse binary with its default limits: unknown paths,
// huge headers, malformed requests, a slowloris client and hundreds of concurrent connections.
// pgpulse must not crash, must keep its memory and file descriptors bounded, and must keep serving
// /metrics to a normal client (Prometheus) throughout.
#include <catch2/catch.hpp>

#include <memory>
#include <thread>
#include <vector>

#include "raw_client.hpp"
#include "support.hpp"

using namespace pgpulse::testing;

namespace {

std::vector<std::string> args() {
  return {"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval", "1s"};
}

std::string get(const std::string& path, const std::string& headers = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: pgpulse\r\n" + headers + "Connection: close\r\n\r\n";
}

// A scrape as Prometheus makes it, timed.
bool scrape_is_fast(int port, std::chrono::milliseconds limit = 1000ms) {
  auto started = std::chrono::steady_clock::now();
  auto result = http_get(port, "/metrics", 3000ms);
  auto took = std::chrono::steady_clock::now() - started;
  if (result.status != 200 || result.body.find("pgpulse_up") == std::string::npos) return false;
  return took < limit;
}

}  // namespace

TEST_CASE("http abuse - unknown paths and methods get 404 and 405", "[http]") {
  PgpulseProcess pgpulse(args());
  int port = pgpulse.port();
  const std::vector<std::string> paths{
      "/nope",     "/metrics/../../etc/passwd",  "/%00", "/metrics%2F",
      "//metrics", "/" + std::string(3000, 'a'), "*"};
  for (const auto& path : paths) {
    CHECK(raw_status(port, get(path)) == 404);
  }
  const std::string close = "Host: x\r\nConnection: close\r\n";
  CHECK(raw_status(port, "POST /metrics HTTP/1.1\r\n" + close + "Content-Length: 0\r\n\r\n") ==
        405);
  CHECK(raw_status(port, "DELETE /metrics HTTP/1.1\r\n" + close + "\r\n") == 405);
  CHECK(raw_status(port, "OPTIONS * HTTP/1.1\r\n" + close + "\r\n") == 405);
  CHECK(raw_status(port, get("/metrics?debug=1&x=%zz")) == 200);
  CHECK(scrape_is_fast(port));
}

TEST_CASE("http abuse - huge headers get 431 and huge bodies 413", "[http]") {
  PgpulseProcess pgpulse(args());
  int port = pgpulse.port();
  CHECK(raw_status(port, get("/metrics", "X-Big: " + std::string(16 * 1024, 'x') + "\r\n")) == 431);
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  CHECK(raw_status(port, get("/metrics", many)) == 431);
  CHECK(raw_status(port, get("/" + std::string(20 * 1024, 'p'))) == 431);
  // A megabyte of header bytes: refused after the limit, not buffered whole.
  {
    RawClient client(port);
    client.send("GET /metrics HTTP/1.1\r\nX-Flood: ");
    bool refused = false;
    for (int i = 0; i < 1024 && !refused; ++i) refused = !client.send(std::string(1024, 'f'));
    auto response = client.read_all(3000ms);
    CHECK((refused || client.closed()));
    CHECK((response.empty() || status_of(response) == 431));
  }
  CHECK(raw_status(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                             std::string(5000, 'b')) == 413);
  CHECK(raw_status(port,
                   "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n") ==
        413);
  CHECK(scrape_is_fast(port));
}

TEST_CASE("http abuse - malformed requests get 400 and the connection closes", "[http]") {
  PgpulseProcess pgpulse(args());
  int port = pgpulse.port();
  const std::vector<std::string> garbage{
      "HELLO\r\n\r\n",
      "GET\r\n\r\n",
      "GET /metrics HTTP/1.1 extra\r\n\r\n",
      "GET /metrics HTTP/7.0\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
      "GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      std::string("GET /met\0rics HTTP/1.1\r\n\r\n", 26),
      "GET /metrics HTTP/1.1\r\nX: \x01\x02\x7f\r\n\r\n",
      std::string("\x16\x03\x01\x00\x05hello", 10),  // a TLS record on the plain port
  };
  for (const auto& request : garbage) {
    RawClient client(port);
    client.send(request);
    auto response = client.read_all(3000ms);
    INFO("request: " << request);
    CHECK(status_of(response) == 400);
    CHECK(client.closed());
  }
  // Random bytes: never a crash, never a hang.
  std::string noise;
  unsigned seed = 12345;
  for (int i = 0; i < 4096; ++i) {
    seed = seed * 1103515245 + 12345;
    noise.push_back(static_cast<char>(seed >> 16));
  }
  for (int i = 0; i < 20; ++i) {
    RawClient client(port);
    client.send(noise.substr(static_cast<std::size_t>(i) * 100));
    client.read_all(2000ms);
    CHECK(client.closed());
  }
  CHECK(scrape_is_fast(port));
  CHECK(http_get(port, "/healthz").status == 200);
}

TEST_CASE("http abuse - a slowloris client is cut off by the read timeout", "[http]") {
  PgpulseProcess pgpulse(args());
  int port = pgpulse.port();
  RawClient slow(port);
  std::string request = get("/metrics", "X-Slow: " + std::string(40, 's') + "\r\n");
  auto started = std::chrono::steady_clock::now();
  std::size_t sent = 0;
  while (sent < request.size() && std::chrono::steady_clock::now() - started < 20s) {
    if (!slow.send(request.substr(sent, 1))) break;  // one header byte per second
    ++sent;
    slow.read_all(1000ms);
    if (slow.closed()) break;
    CHECK(scrape_is_fast(port, 500ms));  // others are served meanwhile
  }
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(slow.closed());
  CHECK(sent < request.size());
  CHECK(took >= 9s);  // the default read timeout is 10s ...
  CHECK(took < 13s);  // ... and it fires
}

TEST_CASE(
    "http abuse - 500 concurrent connections and more leave memory bounded and /metrics served",
    "[http]") {
  long fd_limit = raise_fd_limit();
  PgpulseProcess pgpulse(args());
  int port = pgpulse.port();
  REQUIRE(eventually([&] { return scrape_is_fast(port); }, 10s));
  long rss_before = rss_kib(pgpulse.pid());
  long fds_before = open_fds(pgpulse.pid());

  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 500; ++i) {
    clients.push_back(std::make_unique<RawClient>(port));
    // Half send nothing, half a request that never ends with a few KB of headers.
    if (i % 2) clients.back()->send("GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(4000, 'p'));
  }
  int connected = 0;
  for (auto& client : clients) connected += client->connected();
  CHECK(connected == 500);
  for (int i = 0; i < 5; ++i) CHECK(scrape_is_fast(port));
  long rss_during = rss_kib(pgpulse.pid());
  long fds_during = open_fds(pgpulse.pid());
  INFO("RSS before " << rss_before << " KiB, with 500 connections " << rss_during << " KiB; fds "
                     << fds_before << " -> " << fds_during);
  CHECK(fds_during >= fds_before + 400);  // they really are open on the server side
  CHECK(rss_during - rss_before < 64 * 1024);

  // Past the limit (512): the oldest waiting connections give way; Prometheus still gets in.
  int extra = static_cast<int>(std::min<long>(600, fd_limit - 700));
  REQUIRE(extra > 100);
  for (int i = 0; i < extra; ++i) {
    clients.push_back(std::make_unique<RawClient>(port));
    clients.back()->send("GET /metrics HTTP/1.1\r\n");
  }
  for (int i = 0; i < 10; ++i) CHECK(scrape_is_fast(port));
  long fds_over = open_fds(pgpulse.pid());
  long rss_over = rss_kib(pgpulse.pid());
  INFO("over the limit: fds " << fds_over << ", RSS " << rss_over << " KiB");
  CHECK(fds_over <= fds_before + 512 + 16);
  CHECK(rss_over - rss_before < 64 * 1024);

  // Many clients scraping at once while the flood is still open.
  std::vector<std::thread> scrapers;
  std::atomic<int> served{0};
  for (int i = 0; i < 20; ++i) {
    scrapers.emplace_back([&] { served += http_get(port, "/metrics", 5000ms).status == 200; });
  }
  for (auto& thread : scrapers) thread.join();
  CHECK(served == 20);

  clients.clear();
  CHECK(eventually([&] { return open_fds(pgpulse.pid()) <= fds_before + 4; }, 10s));
  CHECK(scrape_is_fast(port));
}
