#pragma once
// Flags > environment > config file > defaults, merged into one validated Config. Pure apart from
// reading the config file (and checking password files exist), so tests drive it with tables.
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"
#include "config/config_schema.hpp"

namespace pgpulse::config {

enum class Action { Run, Help, Version, CheckConfig, Check };

using Environment = std::map<std::string, std::string>;

struct CommandLine {
  Action action = Action::Run;
  std::map<std::string, RawValue> values;  // by config key
  RawValue config_path;                    // --config
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;  // deprecated spellings that still work
};

struct LoadResult {
  Config config;
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
  std::string error_text() const { return error_lines(errors); }
};

Environment environment_from(char** envp);

CommandLine parse_command_line(const std::vector<std::string>& args,
                               const std::vector<KeySpec>& schema);

LoadResult load_config(const CommandLine& command_line, const Environment& env,
                       const std::vector<CollectorInfo>& collectors);

}  // namespace pgpulse::config
