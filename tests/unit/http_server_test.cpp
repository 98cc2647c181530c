// The HTTP server in-process on a loopback port with small limits: slow clients are cut off, the
// connection limit evicts idle and slow connections instead of locking new clients out, oversized
// and malformed requests get 431/413/400, and basic auth guards everything but /healthz.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "exporter/http_server.hpp"
#include "http_test_client.hpp"

using namespace pgpulse::exporter;
using namespace std::chrono_literals;
using namespace pgpulse::exporter::testing;

namespace {

const std::string kHash =
    "$2y$04$Oz37rc.iHIwUgjyVoaYCduhD9j9PWhA4ZIQRyy/5Xjwo5Mm.sVooK";  // s3cret-pass

HttpResponse ok_handler(const HttpRequest& request) {
  if (request.target == "/missing") {
    return HttpResponse{404, "text/plain", std::make_shared<const std::string>("not found\n")};
  }
  return HttpResponse{200, "text/plain", std::make_shared<const std::string>("hello\n")};
}

}  // namespace

TEST_CASE("http server - serves the handler - keep-alive - HEAD without body") {
  HttpServer server(ok_handler);
  server.start("127.0.0.1:0");
  Client client(server.port());
  REQUIRE(client.send(get("/metrics")));
  auto first = client.read_response();
  CHECK(status_of(first) == 200);
  CHECK(first.find("hello\n") != std::string::npos);
  REQUIRE(client.send(get("/missing")));
  CHECK(status_of(client.read_response()) == 404);  // same connection
  REQUIRE(client.send("HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  auto head = client.read_all();
  CHECK(status_of(head) == 200);
  CHECK(head.find("hello") == std::string::npos);
}

TEST_CASE("http server - oversized headers get 431 - bodies 413 - garbage 400") {
  HttpLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_body_bytes = 100;
  HttpServer server(ok_handler, limits);
  server.start("127.0.0.1:0");
  CHECK(fetch(server.port(), "/", "X-Big: " + std::string(2000, 'a') + "\r\n") == 431);
  CHECK(fetch(server.port(), "/" + std::string(2000, 'p')) == 431);  // a huge request line
  {
    Client client(server.port());
    client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n" +
                std::string(500, 'b'));
    CHECK(status_of(client.read_all()) == 413);
  }
  for (const std::string& garbage :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nBad Header Line\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)}) {
    Client client(server.port());
    client.send(garbage);
    auto response = client.read_all();
    CHECK(status_of(response) == 400);
    CHECK(client.closed());
  }
  CHECK(fetch(server.port(), "/") == 200);  // still serving
}

TEST_CASE("http server - a slowloris client is cut off by the read timeout") {
  HttpLimits limits;
  limits.read_timeout = 600ms;
  HttpServer server(ok_handler, limits);
  server.start("127.0.0.1:0");
  Client slow(server.port());
  auto started = std::chrono::steady_clock::now();
  std::string request = get("/metrics");
  bool cut = false;
  for (char byte : request) {  // one byte every 100ms: 40+ bytes would take 4s
    if (!slow.send(std::string(1, byte))) {
      cut = true;
      break;
    }
    slow.read_all(100ms);
    if (slow.closed()) {
      cut = true;
      break;
    }
  }
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(cut);
  CHECK(took < 1500ms);
  // An idle keep-alive connection goes the same way.
  Client idle(server.port());
  idle.send(get("/"));
  CHECK(status_of(idle.read_response()) == 200);
  idle.read_all(1500ms);
  CHECK(idle.closed());
}

TEST_CASE("http server - at the connection limit the oldest waiting connection gives way") {
  HttpLimits limits;
  limits.max_connections = 8;
  HttpServer server(ok_handler, limits);
  server.start("127.0.0.1:0");
  std::vector<std::unique_ptr<Client>> attackers;
  for (int i = 0; i < 8; ++i) {
    attackers.push_back(std::make_unique<Client>(server.port()));
    attackers.back()->send("GET / HTTP/1.1\r\n");  // a request that never ends
    std::this_thread::sleep_for(20ms);             // keeps the accept order known
  }
  REQUIRE(eventually_open(server, 8));
  // Prometheus arrives: it is served, and the oldest attacker was closed to make room.
  CHECK(fetch(server.port(), "/metrics") == 200);
  attackers.front()->read_all(1000ms);
  CHECK(attackers.front()->closed());
  attackers.back()->read_all(200ms);
  CHECK_FALSE(attackers.back()->closed());
  // Many more attackers than the limit: every new client is still served, memory stays bounded.
  for (int i = 0; i < 40; ++i) {
    attackers.push_back(std::make_unique<Client>(server.port()));
    attackers.back()->send("GET / HTTP/1.1\r\n");
  }
  for (int i = 0; i < 5; ++i) CHECK(fetch(server.port(), "/metrics") == 200);
  std::this_thread::sleep_for(200ms);
  CHECK(server.open_connections() <= 8);
}

TEST_CASE("http server - when every connection is busy a new one gets 503") {
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  std::atomic<int> blocked{0};
  HttpLimits limits;
  limits.max_connections = 2;
  limits.threads = 3;  // two blocked in the handler, one left to accept
  HttpServer server(
      [&](const HttpRequest& request) {
        if (request.target == "/block") {
          ++blocked;
          std::unique_lock lock(mutex);
          released.wait(lock, [&] { return release; });
        }
        return ok_handler(request);
      },
      limits);
  server.start("127.0.0.1:0");
  Client first(server.port()), second(server.port());
  first.send(get("/block"));
  second.send(get("/block"));
  for (int i = 0; i < 100 && blocked < 2; ++i) std::this_thread::sleep_for(20ms);
  REQUIRE(blocked == 2);
  CHECK(fetch(server.port(), "/metrics") == 503);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  released.notify_all();
  CHECK(status_of(first.read_response()) == 200);
  CHECK(status_of(second.read_response()) == 200);
}

TEST_CASE("http server - basic auth guards everything but /healthz") {
  WebConfig web;
  web.basic_auth_users = {{"prometheus", kHash}};
  HttpServer server(ok_handler, {}, web);
  server.start("127.0.0.1:0");
  auto basic = [](const std::string& user_password) {
    static const char* alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned value = 0;
    int bits = -6;
    for (unsigned char c : user_password) {
      value = (value << 8) + c;
      bits += 8;
      while (bits >= 0) {
        out.push_back(alphabet[(value >> bits) & 0x3F]);
        bits -= 6;
      }
    }
    if (bits > -6) out.push_back(alphabet[((value << 8) >> (bits + 8)) & 0x3F]);
    while (out.size() % 4) out.push_back('=');
    return "Authorization: Basic " + out + "\r\n";
  };
  Client anonymous(server.port());
  anonymous.send(get("/metrics", "Connection: close\r\n"));
  auto challenge = anonymous.read_all();
  CHECK(status_of(challenge) == 401);
  CHECK(challenge.find("WWW-Authenticate: Basic realm=\"pgpulse\"") != std::string::npos);
  CHECK(server.password_checks() == 0);  // no credentials: nothing to verify
  CHECK(fetch(server.port(), "/metrics", basic("prometheus:s3cret-pass")) == 200);
  CHECK(server.password_checks() == 1);
  // Cached: the same credentials again are served without a bcrypt verification, however often.
  for (int i = 0; i < 3; ++i) {
    CHECK(fetch(server.port(), "/metrics", basic("prometheus:s3cret-pass")) == 200);
  }
  CHECK(server.password_checks() == 1);
  // Failures are never cached: each wrong password costs its own verification.
  CHECK(fetch(server.port(), "/metrics", basic("prometheus:wrong")) == 401);
  CHECK(fetch(server.port(), "/metrics", basic("prometheus:wrong")) == 401);
  CHECK(server.password_checks() == 3);
  CHECK(fetch(server.port(), "/metrics", basic("nobody:s3cret-pass")) == 401);
  CHECK(fetch(server.port(), "/metrics", basic("prometheus")) == 401);  // no colon
  CHECK(fetch(server.port(), "/metrics", "Authorization: Basic !!!notbase64\r\n") == 401);
  CHECK(fetch(server.port(), "/metrics", "Authorization: Bearer abc\r\n") == 401);
  CHECK(fetch(server.port(), "/readyz") == 401);
  CHECK(fetch(server.port(), "/healthz") == 200);
  CHECK(fetch(server.port(), "/healthz?x=1") == 200);
}

TEST_CASE("http server - replaced basic-auth users apply from the next request - cache cleared") {
  WebConfig web;
  web.basic_auth_users = {{"prometheus", kHash}, {"leaver", kHash}};
  HttpServer server(ok_handler, {}, web);
  server.start("127.0.0.1:0");
  auto leaver = "Authorization: Basic bGVhdmVyOnMzY3JldC1wYXNz\r\n";  // leaver:s3cret-pass
  auto newcomer = "Authorization: Basic bmV3Y29tZXI6czNjcmV0LXBhc3M=\r\n";
  CHECK(fetch(server.port(), "/metrics", leaver) == 200);
  CHECK(fetch(server.port(), "/metrics", leaver) == 200);  // cached
  CHECK(server.password_checks() == 1);
  CHECK(fetch(server.port(), "/metrics", newcomer) == 401);
  server.set_basic_auth_users({{"prometheus", kHash}, {"newcomer", kHash}});
  CHECK(fetch(server.port(), "/metrics", leaver) == 401);  // though it was cached
  CHECK(fetch(server.port(), "/metrics", newcomer) == 200);
  CHECK(fetch(server.port(), "/healthz") == 200);
  CHECK(fetch(server.port(), "/metrics") == 401);
}
