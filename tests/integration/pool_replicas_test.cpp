// Per-replica pool use (issue 18): a SQLAlchemy pool is per process, so one replica can sit at
// its pool_size + max_overflow (its requests wait, "QueuePool limit ... timed out") while the
// budget summed over the replicas looks fine. Replicas are told apart by client address; here
// they reach the server through SourceProxy from 127.0.0.2 and 127.0.0.3, as from two hosts.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <memory>

#include "source_proxy.hpp"
#include "support.hpp"

using namespace pgpulse::testing;

namespace {

std::string pools_step(const nlohmann::json& report) {
  for (const auto& step : report["targets"][0]["steps"]) {
    if (step["id"] == "pools")
      return step["severity"].get<std::string>() + ": " + step["finding"].get<std::string>();
  }
  return "missing";
}

// The client address the server sees for a session through `proxy`.
std::string seen_address(const SourceProxy& proxy) {
  Session probe(proxy.dsn("application_name=it-replica-probe"));
  return probe.scalar("SELECT host(inet_client_addr())");
}

}  // namespace

TEST_CASE("one replica at its own pool limit is seen while the summed budget fits",
          "[pools][matrix]") {
  SourceProxy replica_b("127.0.0.2"), replica_c("127.0.0.3");
  std::string address;
  try {
    address = seen_address(replica_c);
  } catch (const std::exception& e) {
    FAIL("cannot connect from 127.0.0.3 ("
         << e.what()
         << "): pg_hba.conf must trust 127.0.0.0/8, as scripts/pg_test_server.sh writes it for a "
            "new data directory; start the test server in a new directory");
  }
  REQUIRE(address == "127.0.0.3");
  REQUIRE(seen_address(replica_b) == "127.0.0.2");

  auto path = write_temp_file("pool-replicas.yml",
                              "interval: 1s\n"
                              "targets:\n  - name: main\n    dsn: " +
                                  TestDatabase::dsn() +
                                  "\n"
                                  "pools:\n"
                                  "  - application_name: it-replica\n    replicas: 3\n"
                                  "    pool_size: 2\n    max_overflow: 1\n");
  PgpulseProcess pgpulse({"--config", path, "--no-collector.rls"});
  std::vector<std::unique_ptr<Session>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Session>(replica_c.dsn("application_name=it-replica")));
  }
  held.push_back(std::make_unique<Session>(replica_b.dsn("application_name=it-replica")));
  const std::map<std::string, std::string> app{{"application_name", "it-replica"}};

  bool seen =
      eventually([&] { return pgpulse.scrape().value("pgpulse_pool_connections", app) == 4; }, 10s);
  auto scrape = pgpulse.scrape();
  auto report = nlohmann::json::parse(http_get(pgpulse.port(), "/diagnose").body);
  INFO(pools_step(report));
  REQUIRE(seen);
  CHECK(scrape.value("pgpulse_pool_budget_connections", app) == 9);
  CHECK(scrape.value("pgpulse_pool_replicas_at_limit", app) == 1);
  CHECK(scrape.value("pgpulse_pool_replica_max_utilization_ratio", app) == 1);
  CHECK(scrape.sum("pgpulse_pool_utilization_ratio", app) == Approx(4.0 / 9.0));
  CHECK(scrape.sum("pgpulse_pool_utilization_ratio", app) < 1);
  auto step = pools_step(report);
  CHECK(step.rfind("warning: ", 0) == 0);
  CHECK(step.find("1 replica(s) of it-replica at their own pool limit") != std::string::npos);
  CHECK(step.find("the fullest 127.0.0.3 holds 3") != std::string::npos);

  // The full replica returns a connection: no replica at its limit, the step is ok again.
  held.erase(held.begin());
  CHECK(eventually(
      [&] { return pgpulse.scrape().value("pgpulse_pool_replicas_at_limit", app) == 0; }, 10s));
  scrape = pgpulse.scrape();
  CHECK(scrape.value("pgpulse_pool_replica_max_utilization_ratio", app) == Approx(2.0 / 3.0));
  report = nlohmann::json::parse(http_get(pgpulse.port(), "/diagnose").body);
  CHECK(pools_step(report).rfind("ok: ", 0) == 0);
}
