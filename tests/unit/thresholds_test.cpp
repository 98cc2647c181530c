// One table of thresholds (analysis/thresholds.cpp) feeds pgpulse check and /diagnose; the shipped
// alert rules must say the same. This reads deploy/prometheus/alerts.yml and fails when a rule's
// threshold, severity or `for:` drifts from the table.
#include <yaml-cpp/yaml.h>
#include <catch2/catch.hpp>

#include <optional>
#include <regex>
#include <sstream>
#include <string>

#include "analysis/thresholds.hpp"

using namespace pgpulse::analysis;

namespace {

struct Rule {
  std::string expr, severity, for_;
};

std::vector<Rule> rules_named(const YAML::Node& root, std::string_view name) {
  std::vector<Rule> found;
  for (const auto& group : root["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (!rule["alert"] || rule["alert"].as<std::string>() != name) continue;
      found.push_back({rule["expr"].as<std::string>(), rule["labels"]["severity"].as<std::string>(),
                       rule["for"] ? rule["for"].as<std::string>() : "0s"});
    }
  }
  return found;
}

// The number the expression compares `metric` with (`metric > 300`, `metric >= 0.95`).
std::optional<double> compared_with(const std::string& expr, std::string_view metric) {
  std::regex pattern(std::string(metric) + R"((\{[^}]*\})?\s*(>=|>|<=|<)\s*([0-9.eE+]+))");
  std::smatch match;
  if (!std::regex_search(expr, match, pattern)) return std::nullopt;
  return std::stod(match[3].str());
}

}  // namespace

TEST_CASE("the shipped alert rules use the thresholds pgpulse check and /diagnose judge with") {
  auto root = YAML::LoadFile(std::string(PGPULSE_SOURCE_DIR) + "/deploy/prometheus/alerts.yml");
  for (const auto& t : thresholds()) {
    for (auto [severity, alert, value, for_] :
         {std::tuple{"warning", t.warning_alert, t.warning, t.warning_for},
          std::tuple{"critical", t.critical_alert, t.critical, t.critical_for}}) {
      if (alert.empty()) continue;
      INFO(t.signal << " " << severity << ": " << alert);
      auto rules = rules_named(root, alert);
      REQUIRE_FALSE(rules.empty());
      const Rule* rule = nullptr;
      for (const auto& r : rules) {
        if (r.severity == severity) rule = &r;
      }
      REQUIRE(rule != nullptr);
      auto number = compared_with(rule->expr, t.metric);
      REQUIRE(number.has_value());
      CHECK(*number == Approx(value));
      CHECK(rule->for_ == for_);
      if (t.signal == "lock_wait_seconds" && std::string_view(severity) == "critical") {
        CHECK(rule->expr.find(">= " + std::to_string(kCriticalBlockedBackends)) !=
              std::string::npos);
      }
    }
  }
}

TEST_CASE("role and database limits are judged from the same size and ratio as the shipped rule") {
  auto root = YAML::LoadFile(std::string(PGPULSE_SOURCE_DIR) + "/deploy/prometheus/alerts.yml");
  auto rules = rules_named(root, "PostgresRoleOrDatabaseConnectionsNearLimit");
  REQUIRE(rules.size() == 1);
  for (const auto* kind : {"role", "database"}) {
    std::string prefix = std::string("pgpulse_") + kind;
    INFO(kind);
    CHECK(compared_with(rules[0].expr, prefix + "_connection_saturation_ratio") ==
          Approx(kLimitRatio));
    CHECK(compared_with(rules[0].expr, prefix + "_connection_limit") ==
          Approx(kMinJudgedConnectionLimit));
  }
}
