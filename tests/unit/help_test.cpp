#include <catch2/catch.hpp>

#include <regex>
#include <sstream>

#include "config/config_loader.hpp"
#include "config/help.hpp"

using namespace pgpulse::config;

namespace {

const std::vector<CollectorInfo> kCollectors{
    {"connections", true, Millis{0}, "counts"},
    {"idle_trend", true, Millis{0}, "idle connections and their trend"},
    {"rls", false, Millis{300000}, "row-level security"}};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("help: descriptions start in one column, or below a flag that reaches it") {
  auto lines = lines_of(render_help(build_schema(kCollectors), kCollectors));
  const std::regex beside(R"(^  (-\S+(, --\S+)?( \S+)?) {2,}\S.*$)");
  const std::regex alone(R"(^  --\S+( \S+)?$)");
  std::size_t flags = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    INFO(line);
    CHECK(line.size() <= 79);
    if (line.rfind("  -", 0) != 0) continue;
    ++flags;
    if (std::regex_match(line, alone)) {
      REQUIRE(i + 1 < lines.size());
      CHECK(lines[i + 1].rfind(std::string(34, ' '), 0) == 0);
      CHECK(lines[i + 1][34] != ' ');
    } else {
      REQUIRE(std::regex_match(line, beside));
      CHECK(line.find_first_not_of(' ', line.find("  ", 2)) == 34);
    }
  }
  CHECK(flags > 30);
  auto help = render_help(build_schema(kCollectors), kCollectors);
  CHECK(help.find("VALUEquery") == std::string::npos);  // 0.1.0 ran these together
}

TEST_CASE("help: enums list their accepted values, flags have one spelling") {
  auto help = render_help(build_schema(kCollectors), kCollectors);
  // Descriptions wrap: a phrase may continue on the next line, after the indentation.
  const auto flowing = std::regex_replace(help, std::regex("\n +"), " ");
  for (const char* needle :
       {"one of: trace, debug, info, warn, error", "one of: text, json", "one of: in_use, all",
        "--log.level WORD", "--interval DURATION", "--labels.max-values N",
        "--web.listen-address HOST:PORT", "--long-queries.thresholds DURATIONS",
        "--[no-]collector.idle-trend", "--collector.idle-trend.interval DURATION",
        "env PGPULSE_COLLECTOR_IDLE_TREND,", "key collector.idle_trend.enabled"}) {
    INFO(needle);
    CHECK(flowing.find(needle) != std::string::npos);
  }
  const std::regex flag(R"(^  (--\[no-\]|--)([A-Za-z0-9._-]+))");
  for (const auto& line : lines_of(help)) {
    std::smatch m;
    if (!std::regex_search(line, m, flag)) continue;
    INFO(line);
    CHECK(m[2].str().find('_') == std::string::npos);
  }
  for (const auto& spec : build_schema(kCollectors)) {
    INFO(spec.flag);
    CHECK(spec.flag.find('_') == std::string::npos);
  }
}

TEST_CASE("help: the collectors' section keeps a name column") {
  auto help = render_help(build_schema(kCollectors), kCollectors);
  CHECK(std::regex_search(help, std::regex("\n  rls +disabled  every 5m\n")));
  CHECK(std::regex_search(help, std::regex("\n  idle_trend +enabled   every --interval\n")));
}

TEST_CASE("the underscore spelling of a collector switch is a deprecated alias") {
  auto schema = build_schema(kCollectors);
  auto cli = parse_command_line({"--collector.idle_trend=false", "--no-collector.rls"}, schema);
  CHECK(cli.errors.empty());
  CHECK(cli.values.at("collector.idle_trend.enabled").value == "false");
  REQUIRE(cli.warnings.size() == 1);
  CHECK(cli.warnings[0] == "flag --collector.idle_trend is deprecated: use --collector.idle-trend");
  auto negated = parse_command_line({"--no-collector.idle_trend"}, schema);
  CHECK(negated.errors.empty());
  CHECK(negated.values.at("collector.idle_trend.enabled").value == "false");
  CHECK(negated.warnings.size() == 1);
  auto dashed = parse_command_line({"--collector.idle-trend", "--idle-trend.window", "1m"}, schema);
  CHECK(dashed.errors.empty());
  CHECK(dashed.warnings.empty());
  CHECK(dashed.values.at("collector.idle_trend.enabled").value == "true");
  CHECK(parse_command_line({"--collector.bogus_name"}, schema).errors.size() == 1);
}
