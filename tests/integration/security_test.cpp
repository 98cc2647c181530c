// Security against the real binary and server: TLS and basic auth from a web config file tested
// with curl and a certificate made by `openssl req` at test time; what an invalid web config does;
// running as a least-privilege role; and a password_file secret that must never leak.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "raw_client.hpp"
#include "support.hpp"
#include "tls_support.hpp"

using namespace pgpulse::testing;

namespace {

// bcrypt of "s3cret-pass" at cost 10, as `htpasswd -nBC 10` makes it.
const std::string kHash = "$2y$10$Rajs1Pu0K0oFDDcOQkdyKu7mCaIAACbBzLzQTc3FYVi2eFKnQnK.W";

struct CurlResult {
  int exit_code = -1;
  int status = 0;  // 0 when no HTTP response
  std::string headers_and_body;
};

CurlResult curl(const std::vector<std::string>& args) {
  auto out = write_temp_file("curl-out", "");
  std::vector<std::string> argv{
      "/usr/bin/curl", "-s", "-S", "-i", "--max-time", "10", "-o", out, "-w", "%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string output;
  CurlResult result;
  result.exit_code = run_command(argv, output);
  result.status = std::atoi(output.substr(0, 3).c_str());
  result.headers_and_body = read_file(out);
  return result;
}

std::vector<std::string> daemon_args(const std::string& dsn, const std::string& web_config) {
  return {"--dsn",      dsn,  "--target-name",      "main",
          "--interval", "1s", "--no-collector.rls", "--web.config-file",
          web_config};
}

}  // namespace

TEST_CASE("security - TLS and basic auth from the web config - tested with curl", "[security]") {
  auto dir = fresh_dir("tls");
  make_cert(dir / "server.crt", dir / "server.key");
  write_file(dir / "web.yml",
             "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
             "basic_auth_users:\n  prometheus: " +
                 kHash + "\n");
  TlsPgpulse pgpulse(daemon_args(TestDatabase::dsn(), (dir / "web.yml").string()));
  RawClient silent(pgpulse.port());  // connects and never says a word: cut off after 10s
  auto silent_since = std::chrono::steady_clock::now();
  auto ca = (dir / "server.crt").string();

  CurlResult ok;
  REQUIRE(eventually(
      [&] {
        ok = curl({"--cacert", ca, "-u", "prometheus:s3cret-pass", pgpulse.url("/metrics")});
        return ok.status == 200 &&
               ok.headers_and_body.find("pgpulse_up{target=\"main\"} 1") != std::string::npos;
      },
      10s));

  auto anonymous = curl({"--cacert", ca, pgpulse.url("/metrics")});
  CHECK(anonymous.status == 401);
  CHECK(anonymous.headers_and_body.find("WWW-Authenticate: Basic realm=\"pgpulse\"") !=
        std::string::npos);
  CHECK(anonymous.headers_and_body.find("pgpulse_up") == std::string::npos);
  CHECK(curl({"--cacert", ca, "-u", "prometheus:wrong", pgpulse.url("/metrics")}).status == 401);
  CHECK(curl({"--cacert", ca, "-u", "intruder:s3cret-pass", pgpulse.url("/metrics")}).status ==
        401);
  CHECK(curl({"--cacert", ca, "-u", "prometheus:s3cret-pass", pgpulse.url("/readyz")}).status ==
        200);
  CHECK(curl({"--cacert", ca, pgpulse.url("/readyz")}).status == 401);    // names targets
  CHECK(curl({"--cacert", ca, pgpulse.url("/activity")}).status == 401);  // shows query text
  CHECK(curl({"--cacert", ca, pgpulse.url("/healthz")}).status == 200);   // liveness stays open

  // Without the CA the certificate is not trusted.
  auto untrusted = curl({"-u", "prometheus:s3cret-pass", pgpulse.url("/metrics")});
  CHECK(untrusted.exit_code == 60);
  CHECK(untrusted.status == 0);
  // Plain HTTP to the TLS port fails: a 400 that says so, never metrics.
  auto plain = curl({"-u", "prometheus:s3cret-pass",
                     "http://127.0.0.1:" + std::to_string(pgpulse.port()) + "/metrics"});
  CHECK(plain.status == 400);
  CHECK(plain.headers_and_body.find("Client sent an HTTP request to an HTTPS server.") !=
        std::string::npos);
  CHECK(plain.headers_and_body.find("pgpulse_up") == std::string::npos);
  CHECK(http_get(pgpulse.port(), "/metrics").status == 400);
  CHECK(http_get(pgpulse.port(), "/readyz").status == 400);
  // ... except /healthz, for probes that cannot speak TLS (the image's HEALTHCHECK).
  CHECK(http_get(pgpulse.port(), "/healthz").status == 200);
  // TLS 1.0/1.1 are refused.
  CHECK(curl({"--cacert", ca, "--tlsv1.0", "--tls-max", "1.1", pgpulse.url("/healthz")}).status ==
        0);

  // The silent client is closed by the read timeout, TLS handshake or not.
  silent.read_all(std::chrono::duration_cast<std::chrono::milliseconds>(
      12s - (std::chrono::steady_clock::now() - silent_since)));
  CHECK(silent.closed());
  CHECK(curl({"--cacert", ca, "-u", "prometheus:s3cret-pass", pgpulse.url("/metrics")}).status ==
        200);
  auto log = pgpulse.log();
  CHECK(log.find("(port " + std::to_string(pgpulse.port()) + ", https, basic auth)") !=
        std::string::npos);
  CHECK(log.find("s3cret-pass") == std::string::npos);
}

TEST_CASE("security - a renewed certificate on disk is served without a restart", "[security]") {
  auto dir = fresh_dir("rotate");
  make_cert(dir / "server.crt", dir / "server.key", "first");
  make_cert(dir / "next.crt", dir / "next.key", "second");
  write_file(dir / "web.yml",
             "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
  auto first_ca = (dir / "first-ca.crt").string();
  std::filesystem::copy_file(dir / "server.crt", first_ca);
  TlsPgpulse pgpulse(daemon_args(TestDatabase::dsn(), (dir / "web.yml").string()));
  REQUIRE(eventually(
      [&] {
        return curl({"--cacert", first_ca, pgpulse.url("/healthz")}).status == 200;
      },
      10s));
  // As cert-manager or certbot do: new files renamed over the old ones.
  std::filesystem::rename(dir / "next.key", dir / "server.key");
  std::filesystem::rename(dir / "next.crt", dir / "server.crt");
  auto second_ca = (dir / "server.crt").string();
  CHECK(eventually(
      [&] {
        return curl({"--cacert", second_ca, pgpulse.url("/healthz")}).status == 200;
      },
      10s));
  CHECK(curl({"--cacert", first_ca, pgpulse.url("/healthz")}).exit_code == 60);
  CHECK(pgpulse.log().find("TLS certificate or key changed on disk: reloaded") !=
        std::string::npos);
  // A broken renewal (a key that does not match) keeps the working pair.
  make_cert(dir / "stray.crt", dir / "stray.key", "stray");
  std::filesystem::rename(dir / "stray.key", dir / "server.key");
  std::this_thread::sleep_for(1500ms);
  CHECK(curl({"--cacert", second_ca, pgpulse.url("/healthz")}).status == 200);
  CHECK(pgpulse.log().find("does not load, keeping the previous one") != std::string::npos);
}

TEST_CASE("security - client certificates and TLS 1.3 only", "[security]") {
  auto dir = fresh_dir("mtls");
  make_cert(dir / "server.crt", dir / "server.key");
  make_cert(dir / "client.crt", dir / "client.key", "prometheus");
  write_file(dir / "web.yml",
             "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
             "  client_ca_file: client.crt\n"
             "  client_auth_type: RequireAndVerifyClientCert\n"
             "  min_version: TLS13\n");
  TlsPgpulse pgpulse(daemon_args(TestDatabase::dsn(), (dir / "web.yml").string()));
  auto ca = (dir / "server.crt").string();
  std::vector<std::string> client_cert{"--cert", (dir / "client.crt").string(), "--key",
                                       (dir / "client.key").string()};
  auto with_cert = [&](std::vector<std::string> args) {
    args.insert(args.begin(), client_cert.begin(), client_cert.end());
    return curl(args);
  };
  CHECK(eventually(
      [&] {
        return with_cert({"--cacert", ca, pgpulse.url("/metrics")}).status == 200;
      },
      10s));
  CHECK(curl({"--cacert", ca, pgpulse.url("/metrics")}).status == 0);  // no client certificate
  CHECK(with_cert({"--cacert", ca, "--tls-max", "1.2", pgpulse.url("/metrics")}).status == 0);
  // A client certificate the server does not trust.
  make_cert(dir / "other.crt", dir / "other.key", "intruder");
  CHECK(curl({"--cacert", ca, "--cert", (dir / "other.crt").string(), "--key",
              (dir / "other.key").string(), pgpulse.url("/metrics")})
            .status == 0);
}

TEST_CASE("security - an invalid web config exits 2 naming file line and key", "[security][cli]") {
  auto dir = fresh_dir("badweb");
  make_cert(dir / "server.crt", dir / "server.key");
  make_cert(dir / "other.crt", dir / "other.key");
  std::string output;
  auto check = [&](const std::string& web) {
    write_file(dir / "web.yml", web);
    return run_command({pgpulse_binary(), "--check-config", "--dsn", TestDatabase::dsn(),
                        "--web.config-file", (dir / "web.yml").string()},
                       output);
  };
  auto file = (dir / "web.yml").string();
  CHECK(check("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n") == 0);
  CHECK(output.find("configuration OK") != std::string::npos);

  CHECK(check("tls_server_config:\n  cert_file: server.crt\n  keyfile: server.key\n") == 2);
  CHECK(output.find(file + ":3: key \"tls_server_config.keyfile\": unknown key") !=
        std::string::npos);
  CHECK(output.find(file + ":2: key \"tls_server_config.key_file\": is required") !=
        std::string::npos);

  CHECK(check("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n") == 2);
  CHECK(output.find("key \"tls_server_config.key_file\": the private key") != std::string::npos);

  CHECK(check("basic_auth_users:\n  prometheus: PlainTextOops42\n") == 2);
  CHECK(output.find(file + ":2: key \"basic_auth_users.prometheus\": not a bcrypt hash") !=
        std::string::npos);
  CHECK(output.find("PlainTextOops42") == std::string::npos);

  // The daemon refuses to start on it too, before listening.
  int port = free_port();
  CHECK(run_command({pgpulse_binary(), "--dsn", TestDatabase::dsn(), "--web.listen-address",
                     "127.0.0.1:" + std::to_string(port), "--web.config-file", file},
                    output) == 2);
  CHECK(output.find("pgpulse: invalid web configuration:") != std::string::npos);
  CHECK(run_command({pgpulse_binary(), "--check-config", "--dsn", TestDatabase::dsn(),
                     "--web.config-file", (dir / "missing.yml").string()},
                    output) == 2);
  CHECK(output.find("missing.yml: cannot read web config file") != std::string::npos);
}

TEST_CASE("security - least privilege - pg_monitor and CONNECT are enough", "[security][matrix]") {
  Session admin(TestDatabase::dsn());
  admin.exec("DROP DATABASE IF EXISTS it_lp_app WITH (FORCE)");
  admin.exec("DROP DATABASE IF EXISTS it_lp_closed WITH (FORCE)");
  for (const auto* role : {"it_least", "it_bare", "it_app"}) {
    admin.exec(std::string("DROP ROLE IF EXISTS ") + role);
  }
  admin.exec("CREATE DATABASE it_lp_app");
  admin.exec("CREATE DATABASE it_lp_closed");
  admin.exec("REVOKE CONNECT ON DATABASE it_lp_app FROM PUBLIC");
  admin.exec("REVOKE CONNECT ON DATABASE it_lp_closed FROM PUBLIC");
  admin.exec("CREATE ROLE it_least LOGIN CONNECTION LIMIT 3");
  admin.exec("GRANT pg_monitor TO it_least");
  admin.exec("GRANT CONNECT ON DATABASE it_lp_app TO it_least");
  admin.exec("CREATE ROLE it_bare LOGIN");  // no pg_monitor
  admin.exec("GRANT CONNECT ON DATABASE it_lp_app TO it_bare");
  admin.exec("CREATE ROLE it_app LOGIN");
  admin.exec("GRANT CONNECT ON DATABASE it_lp_app TO it_app");
  {
    Session app_admin(TestDatabase::dsn("dbname=it_lp_app"));
    app_admin.exec("CREATE TABLE orders (id int, tenant_id int)");
  }
  // Another user's long query.
  Session app(TestDatabase::dsn("dbname=it_lp_app user=it_app application_name=it-lp-app"));
  app.send("SELECT pg_sleep(60) AS it_lp_marker");  // comments are removed from /activity

  auto run_as = [](const std::string& role) {
    return std::vector<std::string>{"--dsn",
                                    TestDatabase::dsn("user=" + role),
                                    "--target-name",
                                    "main",
                                    "--interval",
                                    "1s",
                                    "--collector.rls.interval",
                                    "1s",
                                    "--rls.databases.include",
                                    "postgres,it_lp_app,it_lp_closed"};
  };
  // pools does not apply: no pools are declared (pgpulse_collector_applicable 0, checked below).
  const std::vector<std::string> collectors{"connections", "idle_trend", "long_queries", "locks"};

  SECTION("with pg_monitor everything works") {
    PgpulseProcess pgpulse(run_as("it_least"));
    bool all_ok = eventually(
        [&] {
          auto scrape = pgpulse.scrape();
          for (const auto& c : collectors) {
            if (scrape.value("pgpulse_collector_success", {{"collector", c}}) != 1) return false;
          }
          return scrape.value("pgpulse_rls_database_scan_success", {{"datname", "it_lp_app"}}) ==
                     1 &&
                 scrape.value("pgpulse_longest_query_seconds",
                              {{"datname", "it_lp_app"}, {"application_name", "it-lp-app"}})
                         .value_or(0) >= 1;
        },
        15s);
    CHECK(all_ok);
    auto scrape = pgpulse.scrape();
    CHECK(scrape.value("pgpulse_monitoring_role_superuser") == 0);
    CHECK(scrape.value("pgpulse_collector_applicable", {{"collector", "pools"}}) == 0);
    CHECK(scrape.value("pgpulse_collector_applicable", {{"collector", "locks"}}) == 1);
    CHECK(scrape.value("pgpulse_connections", {{"usename", "it_app"}, {"state", "active"}}) == 1);
    CHECK(scrape.value("pgpulse_rls_tables",
                       {{"datname", "it_lp_app"}, {"status", "unprotected"}}) == 1);
    // What degrades: a database it has no CONNECT on is reported, not silently skipped.
    CHECK(scrape.value("pgpulse_rls_database_scan_success", {{"datname", "it_lp_closed"}}) == 0);
    // pg_monitor (pg_read_all_stats) shows other users' query text on /activity.
    CHECK(http_get(pgpulse.port(), "/activity").body.find("it_lp_marker") != std::string::npos);
  }

  SECTION("without pg_monitor it runs - and other users' activity is hidden") {
    PgpulseProcess pgpulse(run_as("it_bare"));
    bool all_ok = eventually(
        [&] {
          auto scrape = pgpulse.scrape();
          for (const auto& c : collectors) {
            if (scrape.value("pgpulse_collector_success", {{"collector", c}}) != 1) return false;
          }
          return scrape.value("pgpulse_up") == 1;
        },
        15s);
    CHECK(all_ok);
    auto scrape = pgpulse.scrape();
    // The connection is counted but its state, query and timings are not visible.
    CHECK(scrape.value("pgpulse_connections", {{"usename", "it_app"}, {"state", "unknown"}}) == 1);
    CHECK_FALSE(scrape.value("pgpulse_connections", {{"usename", "it_app"}, {"state", "active"}})
                    .has_value());
    CHECK(scrape.sum("pgpulse_longest_query_seconds", {{"datname", "it_lp_app"}}) == 0);
    CHECK(http_get(pgpulse.port(), "/activity").body.find("it_lp_marker") == std::string::npos);
  }
  admin.exec(
      "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = "
      "'it-lp-app'");
}

TEST_CASE("security - a password_file secret never reaches logs - pages or errors", "[security]") {
  const std::string secret = "Sup3r-S3cret-Value-7";
  Session admin(TestDatabase::dsn());
  admin.exec("DROP ROLE IF EXISTS it_secret");
  admin.exec("CREATE ROLE it_secret LOGIN PASSWORD '" + secret + "' IN ROLE password_auth");
  admin.exec("GRANT pg_monitor TO it_secret");
  auto password_file = write_temp_file("secret-password", secret + "\n");
  auto config = write_temp_file("secret.yml",
                                "interval: 500ms\nlog:\n  level: debug\n"
                                "collector:\n  rls:\n    interval: 1s\n"
                                "targets:\n  - name: main\n    dsn: " +
                                    TestDatabase::dsn("user=it_secret") +
                                    "\n    password_file: " + password_file + "\n");
  PgpulseProcess pgpulse({"--config", config});
  REQUIRE(eventually([&] { return pgpulse.scrape().value("pgpulse_up") == 1; }, 10s));
  // The secret in someone's query text (a password change): /activity shows literals as "?".
  Session other(TestDatabase::dsn("application_name=it-secret-query"));
  other.send("SELECT pg_sleep(3), '" + secret + "' AS leaked");
  std::this_thread::sleep_for(1500ms);

  auto pages = [&] {
    std::string all;
    for (const auto* path : {"/metrics", "/readyz", "/activity", "/tables", "/healthz", "/"}) {
      all += http_get(pgpulse.port(), path).body;
    }
    return all;
  };
  std::string seen = pages();
  CHECK(seen.find("pg_sleep(?), ? AS leaked") != std::string::npos);  // listed, literals hidden
  // Authentication breaks: the errors it logs and shows name the role, never the password.
  admin.exec("ALTER ROLE it_secret PASSWORD 'another-" + secret + "'");
  admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'it_secret'");
  REQUIRE(eventually(
      [&] {
        return pgpulse.scrape()
                   .value("pgpulse_connect_errors_total", {{"reason", "auth_failed"}})
                   .value_or(0) >= 1;
      },
      10s));
  seen += pages();
  pgpulse.signal(SIGHUP);  // a reload logs the configuration it applies
  std::this_thread::sleep_for(1s);
  std::string check_output;
  CHECK(run_command({pgpulse_binary(), "--check-config", "--config", config}, check_output) == 0);
  auto log = pgpulse.log();
  CHECK(log.find("password authentication failed for user \"it_secret\"") != std::string::npos);
  CHECK(log.find(secret) == std::string::npos);
  CHECK(seen.find(secret) == std::string::npos);
  CHECK(check_output.find(secret) == std::string::npos);

  // The same secret inline in a DSN is redacted everywhere it is shown.
  admin.exec("ALTER ROLE it_secret PASSWORD '" + secret + "'");
  PgpulseProcess inline_dsn({"--dsn", TestDatabase::dsn("user=it_secret password=" + secret),
                             "--log.level", "debug", "--interval", "500ms"});
  REQUIRE(eventually([&] { return inline_dsn.scrape().value("pgpulse_up") == 1; }, 10s));
  std::string inline_seen;
  for (const auto* path : {"/metrics", "/readyz", "/activity", "/tables"}) {
    inline_seen += http_get(inline_dsn.port(), path).body;
  }
  CHECK(inline_dsn.log().find("password=***") != std::string::npos);
  CHECK(inline_dsn.log().find(secret) == std::string::npos);
  CHECK(inline_seen.find(secret) == std::string::npos);
  CHECK(run_command({pgpulse_binary(), "--check-config", "--dsn",
                     "postgresql://it_secret:" + secret + "@127.0.0.1:1/postgres"},
                    check_output) == 0);
  CHECK(check_output.find(secret) == std::string::npos);
}
