#include <catch2/catch.hpp>

#include "core/target_health.hpp"
#include "exporter/readiness.hpp"

using namespace pgpulse::core;
using pgpulse::exporter::assess_readiness;

namespace {

void publish(SnapshotStore& store, const TargetHealth& health) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->target = health.target;
  snapshot->collector = kHealthSnapshot;
  snapshot->families = render_families(health.target, health_families(health));
  snapshot->details = make_details(health);
  store.publish(snapshot);
}

TargetHealth healthy(const std::string& name, double last_success) {
  TargetHealth h;
  h.target = name;
  h.up = h.connected_once = true;
  CollectorHealth c;
  c.name = "connections";
  c.interval_seconds = 15;
  c.ran = c.success = true;
  c.duration_seconds = 0.01;
  c.last_success_unix = last_success;
  h.collectors.push_back(c);
  return h;
}

}  // namespace

TEST_CASE("ready when every target connected and every collector is fresh") {
  SnapshotStore store;
  CHECK_FALSE(assess_readiness(store.view(), 1000).ready);  // nothing yet
  publish(store, healthy("a", 990));
  publish(store, healthy("b", 995));
  CHECK(assess_readiness(store.view(), 1000).ready);
}

TEST_CASE("not ready - with the reason - when a target never connected or data is stale") {
  SnapshotStore store;
  publish(store, healthy("a", 990));
  auto never = healthy("b", 0);
  never.connected_once = never.up = false;
  never.last_error_reason = "auth_failed";
  publish(store, never);
  auto r = assess_readiness(store.view(), 1000);
  CHECK_FALSE(r.ready);
  REQUIRE(r.reasons.size() == 1);
  CHECK(r.reasons[0] == "target b: never connected (auth_failed)");

  publish(store, healthy("b", 1000 - 46));  // 3 intervals of 15s is 45s
  r = assess_readiness(store.view(), 1000);
  CHECK_FALSE(r.ready);
  CHECK(r.reasons.at(0) == "target b: collector connections is stale (last success 46s ago)");
}

TEST_CASE("a collector that does not apply blocks nothing, is said on /readyz, and exports 0") {
  SnapshotStore store;
  auto h = healthy("a", 990);
  CollectorHealth statements;
  statements.name = "pools";
  statements.interval_seconds = 15;
  statements.applicable = false;
  statements.not_applicable_reason = "no pools declared for this target (pools:)";
  h.collectors.push_back(statements);
  publish(store, h);
  auto r = assess_readiness(store.view(), 1000);
  CHECK(r.ready);
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0] ==
        "target a: collector pools not applicable: no pools declared for this target (pools:)");
  auto text = render_families("a", health_families(h));
  std::string all;
  for (const auto& f : text) all += f.samples;
  CHECK(all.find("pgpulse_collector_applicable{target=\"a\",collector=\"pools\"} 0") !=
        std::string::npos);
  CHECK(all.find("pgpulse_collector_success{target=\"a\",collector=\"pools\"}") ==
        std::string::npos);
}

TEST_CASE("health series: up - every connect error reason from zero - per-collector state") {
  auto h = healthy("a", 990);
  h.connect_errors["refused"] = 2;
  auto families = health_families(h);
  auto find = [&](const std::string& name) -> const Family& {
    for (const auto& f : families) {
      if (f.name == name) return f;
    }
    FAIL("missing " << name);
    throw;
  };
  CHECK(find("pgpulse_up").metric.at(0).gauge.value == 1);
  const auto& errors = find("pgpulse_connect_errors_total");
  CHECK(errors.metric.size() == 6);
  CHECK(errors.metric.at(0).counter.value == 2);
  CHECK(find("pgpulse_collector_last_success_timestamp_seconds").metric.at(0).gauge.value == 990);
  // round trip through the JSON /readyz reads
  nlohmann::json json = h;
  CHECK(json.get<TargetHealth>().connect_errors.at("refused") == 2);
}

TEST_CASE("versions read as people write them, not as server_version_num") {
  using pgpulse::core::version_text;
  CHECK(version_text("postgres", 150018) == "15.18");
  CHECK(version_text("postgres", 180004) == "18.4");
  CHECK(version_text("postgres", 100023) == "10.23");
  CHECK(version_text("postgres", 90624) == "9.6.24");
  CHECK(version_text("pgbouncer", 11800) == "1.18.0");
  CHECK(version_text("postgres", 0).empty());
}
