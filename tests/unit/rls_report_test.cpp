#include <catch2/catch.hpp>

#include <string>

#include "collectors/rls_report.hpp"

using namespace pgpulse;

namespace {

const prometheus::MetricFamily* find(const core::Families& families, const std::string& name) {
  for (const auto& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

std::string label(const prometheus::ClientMetric& metric, const std::string& name) {
  for (const auto& pair : metric.label) {
    if (pair.name == name) return pair.value;
  }
  return "";
}

}  // namespace

TEST_CASE("bypass roles: a count of every login role and one series per role that is a finding") {
  collectors::ClusterScan scan;
  scan.bypass_roles = {{"postgres", "superuser", true}, {"etl_admin", "bypassrls", false}};
  auto output = collectors::rls_report(scan, config::RlsConfig{}, 50);

  // Renamed in 0.2.0 (CHANGELOG.md): the old names read as the same thing.
  CHECK(find(output.families, "pgpulse_role_bypasses_rls") == nullptr);
  CHECK(find(output.families, "pgpulse_rls_bypass_roles") == nullptr);

  const auto* count = find(output.families, "pgpulse_rls_bypass_login_roles");
  REQUIRE(count != nullptr);
  CHECK(count->type == prometheus::MetricType::Gauge);
  REQUIRE(count->metric.size() == 1);
  CHECK(count->metric[0].gauge.value == 2);  // the exempt postgres included

  const auto* roles = find(output.families, "pgpulse_rls_bypass_role");
  REQUIRE(roles != nullptr);
  REQUIRE(roles->metric.size() == 1);  // no series for the exempt role
  CHECK(label(roles->metric[0], "rolname") == "etl_admin");
  CHECK(label(roles->metric[0], "reason") == "bypassrls");
  CHECK(roles->metric[0].gauge.value == 1);
}

TEST_CASE("the rls report's families: _total only on counters") {
  collectors::ClusterScan scan;
  scan.bypass_roles = {{"etl_admin", "bypassrls", false}};
  auto output = collectors::rls_report(scan, config::RlsConfig{}, 50);
  REQUIRE_FALSE(output.families.empty());
  for (const auto& family : output.families) {
    INFO(family.name);
    bool total = family.name.size() > 6 && family.name.substr(family.name.size() - 6) == "_total";
    CHECK(total == (family.type == prometheus::MetricType::Counter));
  }
}
