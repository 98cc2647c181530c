// The binary with its default limits against TLS clients that hold connections without reading:
// they must not lock an authenticated Prometheus out. Also what a TLS client sees of the
// endpoint: no Nagle delay on new connections, forward-secret AEAD suites only on TLS 1.2, and
// absolute-form request targets routed by their path.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "raw_client.hpp"
#include "support.hpp"
#include "tls_support.hpp"

using namespace pgpulse::testing;

namespace {

// bcrypt of "s3cret-pass" at cost 10, as `htpasswd -nBC 10` makes it.
const std::string kHash = "$2y$10$Rajs1Pu0K0oFDDcOQkdyKu7mCaIAACbBzLzQTc3FYVi2eFKnQnK.W";

std::vector<std::string> tls_args(const std::filesystem::path& dir, bool users = true,
                                  bool rsa = false) {
  make_cert(dir / "server.crt", dir / "server.key", "localhost", rsa);
  write_file(dir / "web.yml",
             "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" +
                 (users ? "basic_auth_users:\n  prometheus: " + kHash + "\n" : std::string()));
  return {"--dsn",
          TestDatabase::dsn(),
          "--target-name",
          "main",
          "--interval",
          "1s",
          "--no-collector.rls",
          "--web.config-file",
          (dir / "web.yml").string()};
}

const std::string kAuth = basic_auth_header("prometheus:s3cret-pass");

}  // namespace

TEST_CASE("http abuse - TLS clients that never read cannot lock out an authenticated scrape",
          "[http][security]") {
  raise_fd_limit();
  auto dir = fresh_dir("stalled-tls");
  TlsPgpulse pgpulse(tls_args(dir));
  int port = pgpulse.port();
  auto ctx = tls_client_context();
  REQUIRE(eventually([&] { return tls_status(port, ctx.get(), "/metrics", kAuth) == 200; }, 10s));

  // 600 clients (the limit is 512) that complete the handshake, send a request asking the server
  // to close, and never read: the server waits on their close_notify. Closed ones reconnect, so
  // the server stays full for as long as the attack lasts.
  struct Attack {
    std::atomic<bool> stop{false};
    std::atomic<int> held{0};
    std::thread thread;
    ~Attack() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } attack;
  attack.thread = std::thread([&] {
    auto attack_ctx = tls_client_context();
    std::vector<std::unique_ptr<TlsClient>> clients;
    auto deadline = std::chrono::steady_clock::now() + 60s;  // bounded, whatever happens
    while (!attack.stop && std::chrono::steady_clock::now() < deadline) {
      clients.erase(std::remove_if(clients.begin(), clients.end(),
                                   [](const auto& c) { return c->peer_closed(); }),
                    clients.end());
      for (int i = 0; clients.size() < 600 && i < 50 && !attack.stop; ++i) {
        auto client = std::make_unique<TlsClient>(port, attack_ctx.get());
        if (!client->send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) {
          continue;  // refused: the server is full
        }
        clients.push_back(std::move(client));
      }
      attack.held = static_cast<int>(clients.size());
      std::this_thread::sleep_for(5ms);
    }
  });
  REQUIRE(eventually([&] { return attack.held >= 450; }, 20s));

  int served = 0;
  const int scrapes = 20;
  for (int i = 0; i < scrapes; ++i) {
    served += tls_status(port, ctx.get(), "/metrics", kAuth) == 200;
    std::this_thread::sleep_for(100ms);
  }
  // Clients that pipeline requests and never read hold their slot while their response write is
  // stalled; with the server full of both kinds, scrapes still get in.
  std::vector<std::unique_ptr<TlsClient>> pipeliners;
  std::string pipelined;
  for (int i = 0; i < 40; ++i) pipelined += "GET /metrics HTTP/1.1\r\nHost: x\r\n" + kAuth + "\r\n";
  for (int i = 0; i < 40; ++i) {
    pipeliners.push_back(std::make_unique<TlsClient>(port, ctx.get()));
    pipeliners.back()->send(pipelined);
  }
  std::this_thread::sleep_for(500ms);
  int served_with_pipeliners = 0;
  for (int i = 0; i < scrapes; ++i) {
    served_with_pipeliners += tls_status(port, ctx.get(), "/metrics", kAuth) == 200;
    std::this_thread::sleep_for(100ms);
  }
  int held = attack.held;
  attack.stop = true;
  std::fprintf(stderr,
               "%d stalled TLS clients: %d of %d authenticated scrapes served; with pipeliners "
               "too: %d of %d\n",
               held, served, scrapes, served_with_pipeliners, scrapes);
  CHECK(served == scrapes);
  CHECK(served_with_pipeliners == scrapes);
  CHECK(pgpulse.log().find("all busy; refusing new ones") == std::string::npos);
}

TEST_CASE("security - a new TLS connection is answered without a Nagle delay", "[security]") {
  auto dir = fresh_dir("nodelay");
  TlsPgpulse pgpulse(tls_args(dir, false));
  auto ctx = tls_client_context();
  REQUIRE(
      eventually([&] { return tls_status(pgpulse.port(), ctx.get(), "/healthz") == 200; }, 10s));
  // Handshake, request and response: the server's small writes (session tickets, then the
  // response) waited ~40 ms for the client's delayed ACK when Nagle was on.
  std::vector<double> took;
  for (int i = 0; i < 15; ++i) {
    auto started = std::chrono::steady_clock::now();
    int status = tls_status(pgpulse.port(), ctx.get(), "/healthz");
    took.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count());
    CHECK(status == 200);
  }
  std::sort(took.begin(), took.end());
  std::fprintf(stderr, "TLS connection + /healthz: median %.1f ms\n", took[took.size() / 2]);
  CHECK(took[took.size() / 2] < 25.0);
}

TEST_CASE("security - TLS 1.2 offers only forward-secret AEAD suites - TLS 1.3 is unchanged",
          "[security]") {
  auto connects = [](int port, const TlsOptions& options) {
    auto ctx = tls_client_context(options);
    TlsClient client(port, ctx.get());
    return client.handshaken();
  };
  auto tls12 = [](const std::string& ciphers) {
    return TlsOptions{TLS1_2_VERSION, TLS1_2_VERSION, ciphers, ""};
  };
  {
    auto dir = fresh_dir("ciphers-ec");
    TlsPgpulse pgpulse(tls_args(dir, false));
    int port = pgpulse.port();
    REQUIRE(eventually([&] { return connects(port, {}); }, 10s));
    CHECK(connects(port, tls12("ECDHE-ECDSA-AES128-GCM-SHA256")));
    CHECK(connects(port, tls12("ECDHE-ECDSA-AES256-GCM-SHA384")));
    CHECK(connects(port, tls12("ECDHE-ECDSA-CHACHA20-POLY1305")));
    CHECK_FALSE(connects(port, tls12("ECDHE-ECDSA-AES128-SHA")));     // CBC: not AEAD
    CHECK_FALSE(connects(port, tls12("ECDHE-ECDSA-AES256-SHA384")));  // CBC
    for (const char* suite :
         {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
      INFO(suite);
      CHECK(connects(port, TlsOptions{TLS1_3_VERSION, TLS1_3_VERSION, "", suite}));
    }
  }
  {
    auto dir = fresh_dir("ciphers-rsa");
    TlsPgpulse pgpulse(tls_args(dir, false, true));
    int port = pgpulse.port();
    REQUIRE(eventually([&] { return connects(port, {}); }, 10s));
    CHECK(connects(port, tls12("ECDHE-RSA-AES128-GCM-SHA256")));
    CHECK(connects(port, tls12("ECDHE-RSA-CHACHA20-POLY1305")));
    CHECK_FALSE(
        connects(port, tls12("AES128-GCM-SHA256")));  // RSA key exchange: no forward secrecy
    CHECK_FALSE(connects(port, tls12("AES256-SHA")));
    CHECK_FALSE(connects(port, tls12("ECDHE-RSA-AES128-SHA")));
  }
}

TEST_CASE("http abuse - absolute-form request targets are routed by their path", "[http]") {
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn(), "--target-name", "main"});
  int port = pgpulse.port();
  std::string authority = "127.0.0.1:" + std::to_string(port);
  auto request = [&](const std::string& target) {
    RawClient client(port);
    client.send("GET " + target + " HTTP/1.1\r\nHost: " + authority +
                "\r\nConnection: close\r\n\r\n");
    return client.read_all(3000ms);
  };
  auto metrics = request("http://" + authority + "/metrics");
  CHECK(status_of(metrics) == 200);
  CHECK(metrics.find("pgpulse_build_info") != std::string::npos);
  CHECK(status_of(request("HTTP://" + authority + "/healthz")) == 200);
  CHECK(status_of(request("http://" + authority + "/metrics?x=1")) == 200);
  CHECK(status_of(request("http://pgpulse.example/healthz")) == 200);  // whatever the authority
  CHECK(status_of(request("http://" + authority + "/nope")) == 404);
  CHECK(status_of(request("http://" + authority)) == 200);  // "/", the status page
  CHECK(status_of(request("ftp://" + authority + "/metrics")) == 404);
}
