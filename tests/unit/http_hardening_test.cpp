// The HTTP server in-process against clients that hold connections by not reading: a connection
// whose response write is stalled gives way to a new client at the limit. Also absolute-form
// targets reach the handler as their path, and a source that keeps failing basic auth is slowed
// down without slowing anyone else.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "exporter/http_server.hpp"
#include "http_test_client.hpp"

using namespace pgpulse::exporter;
using namespace pgpulse::exporter::testing;
using namespace std::chrono_literals;

namespace {

const std::string kHash =
    "$2y$04$Oz37rc.iHIwUgjyVoaYCduhD9j9PWhA4ZIQRyy/5Xjwo5Mm.sVooK";  // s3cret-pass

HttpResponse big_handler(const HttpRequest& request) {
  static const auto big = std::make_shared<const std::string>(1 << 20, 'm');
  if (request.target == "/big") return HttpResponse{200, "text/plain", big};
  auto body = std::make_shared<const std::string>("target " + request.target + "\n");
  return HttpResponse{request.target == "/missing" ? 404u : 200u, "text/plain", body};
}

}  // namespace

TEST_CASE("http server - clients that pipeline requests and never read give way at the limit") {
  HttpLimits limits;
  limits.max_connections = 8;
  HttpServer server(big_handler, limits);
  server.start("127.0.0.1:0");
  std::string pipelined;
  for (int i = 0; i < 64; ++i) pipelined += get("/big");
  std::vector<std::unique_ptr<Client>> stalled;
  for (int i = 0; i < 8; ++i) {
    stalled.push_back(std::make_unique<Client>(server.port()));
    stalled.back()->send(pipelined);
  }
  REQUIRE(eventually_open(server, 8));
  std::this_thread::sleep_for(3s);  // every write has stalled for longer than the stall timeout
  // Without eviction of stalled writers these were "busy" for the whole 30 s write timeout.
  CHECK(fetch(server.port(), "/metrics") == 200);
  stalled.front()->read_all(200ms);
  // A writer that is making progress is not stalled: a slow reader still gets its response.
  Client reader(server.port());
  reader.send(get("/big", "Connection: close\r\n"));
  std::size_t received = 0;
  for (int i = 0; i < 40 && !reader.closed(); ++i) received += reader.read_all(50ms).size();
  CHECK(received > (1u << 20));
}

TEST_CASE("http server - absolute-form targets reach the handler as their path") {
  HttpServer server(big_handler);
  server.start("127.0.0.1:0");
  Client client(server.port());
  client.send(get("http://127.0.0.1/metrics?x=1"));
  auto response = client.read_response();
  CHECK(status_of(response) == 200);
  CHECK(response.find("target /metrics?x=1\n") != std::string::npos);
  CHECK(fetch(server.port(), "https://example:1/missing") == 404);
}

TEST_CASE("http server - a source that keeps failing basic auth gets 429 - others do not") {
  WebConfig web;
  web.basic_auth_users = {{"prometheus", kHash}};
  HttpLimits limits;
  limits.password_throttle.failure_burst = 2;
  limits.password_throttle.refill = 10000ms;
  HttpServer server(big_handler, limits, web);
  server.start("127.0.0.1:0");
  auto wrong = "Authorization: Basic cHJvbWV0aGV1czp3cm9uZw==\r\n";  // prometheus:wrong
  auto right = "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQtcGFzcw==\r\n";
  CHECK(fetch(server.port(), "/metrics", wrong) == 401);
  CHECK(fetch(server.port(), "/metrics", wrong) == 401);
  Client throttled(server.port());
  throttled.send(get("/metrics", std::string(wrong) + "Connection: close\r\n"));
  auto response = throttled.read_all();
  CHECK(status_of(response) == 429);
  CHECK(response.find("Retry-After: 10\r\n") != std::string::npos);
  CHECK(server.password_checks() == 2);  // the 429 cost no bcrypt
  // Another address is checked as usual, and the right password from it is served.
  auto from = [&](const char* source, const std::string& headers) {
    Client client(server.port(), source);
    client.send(get("/metrics", headers + "Connection: close\r\n"));
    return status_of(client.read_all());
  };
  CHECK(from("127.0.0.2", wrong) == 401);
  CHECK(from("127.0.0.3", right) == 200);
  // Once verified, the right password is served from the cache even to the throttled source.
  CHECK(fetch(server.port(), "/metrics", right) == 200);
  CHECK(fetch(server.port(), "/metrics", wrong) == 429);
}
