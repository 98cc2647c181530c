#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "collectors/connections.hpp"

using namespace pgpulse::collectors;
using namespace pgpulse::core;

namespace {

ActivityRow client(int pid, std::string app, std::string state, std::string db = "app",
                   std::string user = "web") {
  ActivityRow row;
  row.pid = pid;
  row.application_name = std::move(app);
  row.state = std::move(state);
  row.datname = std::move(db);
  row.usename = std::move(user);
  row.backend_type = "client backend";
  return row;
}

}  // namespace

TEST_CASE("saturation is client backends over the slots ordinary roles may use") {
  CHECK(saturation_ratio(0, 100, 3) == 0.0);
  CHECK(saturation_ratio(97, 100, 3) == 1.0);
  CHECK(saturation_ratio(50, 100, 0) == 0.5);
  CHECK(saturation_ratio(99, 100, 3) == Approx(99.0 / 97.0));  // superusers in reserved slots
  CHECK(std::isinf(saturation_ratio(1, 3, 3)));
}

TEST_CASE("connections are counted per label set - excluding pgpulse and background processes") {
  ActivitySample sample;
  sample.rows = {client(1, "web", "idle"), client(2, "web", "idle"), client(3, "web", "active"),
                 client(4, "celery", "idle in transaction", "app", "worker"),
                 client(5, "pgpulse", "active", "postgres", "monitor")};
  sample.rows.back().is_self = true;
  ActivityRow autovacuum;
  autovacuum.pid = 6;
  autovacuum.backend_type = "autovacuum launcher";
  sample.rows.push_back(autovacuum);
  ActivityRow hidden = client(7, "", "");  // another role's backend without pg_read_all_stats
  sample.rows.push_back(hidden);

  ServerLimits limits{10, 3, 0};
  auto s = summarize_connections(sample, limits, {}, 50);
  CHECK(s.client_backends == 6);  // pgpulse holds a slot too
  CHECK(s.saturation == Approx(6.0 / 7.0));
  CHECK(s.connections.at({"app", "web", "web", "idle"}) == 2);
  CHECK(s.connections.at({"app", "web", "web", "active"}) == 1);
  CHECK(s.connections.at({"app", "worker", "celery", "idle in transaction"}) == 1);
  CHECK(s.connections.at({"app", "web", "", "unknown"}) == 1);
  CHECK(s.connections.count({"postgres", "monitor", "pgpulse", "active"}) == 0);
  long total = 0;
  for (const auto& [key, count] : s.connections) total += count;
  CHECK(total == 5);
}

TEST_CASE("many applications fold into other and the folding is reported") {
  ActivitySample sample;
  for (int i = 0; i < 30; ++i) sample.rows.push_back(client(i, "app-" + std::to_string(i), "idle"));
  for (int i = 0; i < 5; ++i) sample.rows.push_back(client(100 + i, "big", "idle"));
  auto s = summarize_connections(sample, ServerLimits{100, 3, 0}, {}, 10);
  CHECK(s.folded_values.at("application_name") == 21);
  CHECK(s.connections.at({"app", "web", "big", "idle"}) == 5);
  CHECK(s.connections.at({"app", "web", "other", "idle"}) == 21);
  std::size_t app_values = 0;
  app_values = s.connections.size();
  CHECK(app_values == 11);  // 10 kept + other
}

TEST_CASE("database and role limits get their own saturation") {
  ActivitySample sample;
  sample.rows = {client(1, "a", "idle", "orders", "web"), client(2, "a", "idle", "orders", "web"),
                 client(3, "a", "idle", "billing", "batch")};
  std::vector<ConnectionLimit> explicit_limits{{"database", "orders", 4},
                                               {"database", "empty", 10},
                                               {"role", "batch", 1},
                                               {"role", "zero", 0}};
  auto s = summarize_connections(sample, ServerLimits{100, 3, 0}, explicit_limits, 50);
  REQUIRE(s.databases.size() == 2);
  CHECK(s.databases[0].name == "orders");
  CHECK(s.databases[0].ratio == 0.5);
  CHECK(s.databases[1].ratio == 0.0);
  REQUIRE(s.roles.size() == 2);
  CHECK(s.roles[0].name == "batch");
  CHECK(s.roles[0].ratio == 1.0);
  CHECK(s.roles[1].ratio == 0.0);  // limit 0, nobody connected
}

TEST_CASE("connection families carry the documented names and help") {
  ActivitySample sample;
  sample.rows = {client(1, "web", "idle")};
  auto families =
      connection_families(summarize_connections(sample, ServerLimits{100, 3, 0}, {}, 50));
  std::set<std::string> names;
  for (const auto& f : families) {
    names.insert(f.name);
    CHECK_FALSE(f.help.empty());
  }
  for (const char* expected :
       {"pgpulse_connections", "pgpulse_max_connections", "pgpulse_reserved_connections",
        "pgpulse_connection_saturation_ratio", "pgpulse_label_values_folded",
        "pgpulse_database_connection_limit", "pgpulse_role_connection_saturation_ratio"}) {
    INFO(expected);
    CHECK(names.count(expected) == 1);
  }
}
