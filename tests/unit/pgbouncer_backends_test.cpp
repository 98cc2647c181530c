// The join of a PostgreSQL target with the PgBouncers that front it, on made-up rows: which
// client backends are PgBouncer's server connections (SHOW SERVERS remote_pid and local_port
// against pg_stat_activity), by pool, and which connect directly.
#include <catch2/catch.hpp>

#include "collectors/pgbouncer_backends.hpp"
#include "collectors/pgbouncer_servers.hpp"
#include "core/exposition.hpp"

using namespace pgpulse::collectors;

namespace {

ShowTable table(std::vector<std::string> columns,
                std::vector<std::vector<std::optional<std::string>>> rows) {
  return ShowTable{std::move(columns), std::move(rows)};
}

}  // namespace

TEST_CASE("a backend is PgBouncer's when its pid and port are the server connection's") {
  ActivityRow row;
  row.pid = 4242;
  row.backend_type = "client backend";
  row.usename = "app";
  row.client_addr = "127.0.0.1";
  row.client_port = 50001;
  pgpulse::core::PgBouncerServerConnection server{"session",   "app", "active",
                                                  "127.0.0.1", 50001, 4242};
  CHECK(is_pgbouncer_backend(row, server));
  auto reused = server;
  reused.local_port = 50002;  // the pid was reused by a direct client since SHOW SERVERS
  CHECK_FALSE(is_pgbouncer_backend(row, reused));
  auto other = server;
  other.remote_pid = 1;
  CHECK_FALSE(is_pgbouncer_backend(row, other));
  // over a unix socket only the pid tells
  auto unix_row = row;
  unix_row.client_addr.clear();
  unix_row.client_port = -1;
  auto unix_server = server;
  unix_server.local_addr = "unix";
  CHECK(is_pgbouncer_backend(unix_row, unix_server));
  // without remote_pid, address and port decide
  auto no_pid = server;
  no_pid.remote_pid = 0;
  CHECK(is_pgbouncer_backend(row, no_pid));
  no_pid.local_addr = "10.0.0.9";
  CHECK_FALSE(is_pgbouncer_backend(row, no_pid));
}

TEST_CASE("the server's backends are split into PgBouncer's pools and direct clients") {
  auto backend = [](int pid, int port, std::string state) {
    ActivityRow row;
    row.pid = pid;
    row.backend_type = "client backend";
    row.usename = "app";
    row.client_addr = "127.0.0.1";
    row.client_port = port;
    row.state = std::move(state);
    return row;
  };
  ActivitySample sample;
  sample.rows = {backend(1, 5001, "idle in transaction"), backend(2, 5002, "active"),
                 backend(3, 6000, "idle"), backend(4, 6001, "active")};
  sample.rows.push_back(backend(5, 6002, "active"));
  sample.rows.back().is_self = true;  // pgpulse itself is neither
  pgpulse::core::PgBouncerServersDetails servers;
  servers.servers = {{"transaction", "app", "active", "127.0.0.1", 5001, 1},
                     {"transaction", "app", "active", "127.0.0.1", 5002, 2},
                     {"transaction", "app", "idle", "127.0.0.1", 5003, 99}};
  auto s = summarize_pgbouncer_backends(sample, {{"bouncer", &servers}, {"down", nullptr}}, 50);
  CHECK(s.details.pgbouncer_backends == 2);
  CHECK(s.details.direct_clients == 2);
  REQUIRE(s.details.pools.size() == 1);
  CHECK(s.details.pools[0].idle_in_transaction == 1);
  CHECK(s.details.pools[0].active == 1);
  CHECK(s.details.via(1) == "pgbouncer bouncer pool transaction/app");
  CHECK(s.details.via(3).empty());
  CHECK(s.details.pgbouncers_without_data == std::vector<std::string>{"down"});
  std::string all;
  for (const auto& f : pgpulse::core::render_families("db", pgbouncer_backend_families(s))) {
    all += f.samples;
  }
  CHECK(all.find("pgpulse_pgbouncer_backends{target=\"db\",pgbouncer=\"bouncer\",database="
                 "\"transaction\",user=\"app\",state=\"active\"} 1") != std::string::npos);
  CHECK(all.find("pgpulse_direct_client_backends{target=\"db\"} 2") != std::string::npos);
}

TEST_CASE("SHOW SERVERS rows keep the pool and the backend they are") {
  auto d = parse_pgbouncer_servers(
      table({"type", "user", "database", "state", "addr", "port", "local_addr", "local_port",
             "remote_pid"},
            {{"S", "app", "session", "active", "127.0.0.1", "5432", "127.0.0.1", "41000", "777"}}));
  REQUIRE(d.servers.size() == 1);
  CHECK(d.servers[0].database == "session");
  CHECK(d.servers[0].local_port == 41000);
  CHECK(d.servers[0].remote_pid == 777);
}
