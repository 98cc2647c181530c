// Config files that used to crash the loader (found by tests/fuzz/fuzz_config): a recursive YAML
// alias overflowed the stack, and aliases of aliases expand exponentially. Both are now errors
// with the file and line, found quickly.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "config/config_loader.hpp"

using namespace pgpulse::config;

namespace {

LoadResult load_text(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("pgpulse-hostile-" + name);
  std::ofstream(path) << text;
  std::vector<CollectorInfo> collectors{{"connections", true, Millis{0}, "counts"}};
  auto cli = parse_command_line({"--config", path.string()}, build_schema(collectors));
  return load_config(cli, {}, collectors);
}

}  // namespace

TEST_CASE("config - a recursive alias is an error - not a stack overflow") {
  auto result = load_text("recursive.yml", "interval: 5s\nbase: &b {x: 1, again: *b}\n");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error_text().find("nested too deeply or too large (a recursive alias?)") !=
        std::string::npos);
  CHECK(result.error_text().find("pgpulse-hostile-recursive.yml:2") != std::string::npos);
}

TEST_CASE("config - exponentially expanding aliases are refused quickly") {
  std::string text = "l0: &l0 {a: 1, b: 2}\n";
  for (int i = 1; i < 30; ++i) {
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " {a: *l" +
            std::to_string(i - 1) + ", b: *l" + std::to_string(i - 1) + "}\n";
  }
  // 2^30 nodes if walked: the walker's node budget refuses it. The bound below only catches a
  // walk that never ends (minutes); it is not a speed measurement (those live in bench/).
  auto started = std::chrono::steady_clock::now();
  auto result = load_text("laughs.yml", text);
  CHECK_FALSE(result.ok());
  CHECK(result.error_text().find("nested too deeply or too large") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(60));
}
