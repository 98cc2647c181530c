// The config loader under arbitrary YAML files (and, with a leading 0x01 byte, arbitrary command
// lines). Properties beyond "no crash" under ASan/UBSan: a rejected config has at least one error,
// every error has a message and an origin naming the file (with a line), a flag or an environment
// variable; an accepted config has a target and positive intervals everywhere.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_loader.hpp"

using namespace pgpulse::config;

namespace {

const std::vector<CollectorInfo>& collectors() {
  static const std::vector<CollectorInfo> infos{
      {"connections", true, Millis{0}, "connections"},
      {"idle_trend", true, Millis{0}, "idle trend"},
      {"long_queries", true, Millis{0}, "long queries"},
      {"locks", true, Millis{0}, "locks"},
      {"pools", true, Millis{0}, "pools"},
      {"rls", true, Millis{300000}, "row-level security"}};
  return infos;
}

const std::string& config_path() {
  static const std::string path = [] {
    std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return dir + "/pgpulse-fuzz-config-" + std::to_string(getpid()) + ".yml";
  }();
  return path;
}

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_config: %s: %s\n", what, detail.c_str());
  std::abort();
}

void check(const LoadResult& result, const std::string& file) {
  if (!result.ok()) {
    for (const auto& error : result.errors) {
      if (error.message.empty()) fail("an error without a message", error.to_string());
      bool from_file = !file.empty() && error.origin.rfind(file, 0) == 0;
      bool from_elsewhere = error.origin.rfind("flag ", 0) == 0 ||
                            error.origin.rfind("environment ", 0) == 0 ||
                            error.origin.rfind("argument ", 0) == 0 || error.origin == "targets";
      if (!from_file && !from_elsewhere) fail("an error without an origin", error.to_string());
    }
    if (result.error_text().empty()) fail("empty error text", "");
    return;
  }
  const auto& config = result.config;
  if (config.targets.empty()) fail("accepted without a target", "");
  if (config.interval.count() <= 0) fail("accepted a non-positive interval", "");
  for (const auto& [name, collector] : config.collectors) {
    if (collector.interval.count() <= 0) fail("collector without a positive interval", name);
  }
  if (config.label_max_values <= 0) fail("accepted labels.max_values <= 0", "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto schema = build_schema(collectors());
  if (!input.empty() && input[0] == '\x01') {
    // A command line: arguments separated by NUL bytes, no file.
    std::vector<std::string> args;
    std::string current;
    for (char c : input.substr(1)) {
      if (c == '\0') {
        args.push_back(std::exchange(current, {}));
      } else {
        current.push_back(c);
      }
    }
    args.push_back(current);
    auto cli = parse_command_line(args, schema);
    if (!cli.config_path.value.empty()) return 0;  // never read files the input names
    check(load_config(cli, {}, collectors()), "");
    return 0;
  }
  const auto& path = config_path();
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) return 0;
  std::fwrite(input.data(), 1, input.size(), file);
  std::fclose(file);
  CommandLine cli;
  cli.config_path = RawValue{path, "flag --config"};
  check(load_config(cli, {}, collectors()), path);
  return 0;
}
