// The HTTP server in-process against clients that hold connections by not reading: a connection
// whose response write is stalled gives way to a new client at the limit. Also absolute-form
// targets reach the handler as their path.
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
