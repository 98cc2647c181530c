// The command line and the process environment, read into what load_config merges.
#include <algorithm>

#include "config/config_loader.hpp"

namespace pgpulse::config {

namespace {

const KeySpec* find_by_flag(const std::vector<KeySpec>& schema, const std::string& flag) {
  for (const auto& spec : schema) {
    if (spec.flag == flag) return &spec;
  }
  return nullptr;
}

}  // namespace

Environment environment_from(char** envp) {
  Environment env;
  for (char** entry = envp; entry && *entry; ++entry) {
    std::string text(*entry);
    auto eq = text.find('=');
    if (eq != std::string::npos) env[text.substr(0, eq)] = text.substr(eq + 1);
  }
  return env;
}

CommandLine parse_command_line(const std::vector<std::string>& args,
                               const std::vector<KeySpec>& schema) {
  CommandLine cli;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string origin = "flag " + arg.substr(0, arg.find('='));
    if (arg == "--help" || arg == "-h") {
      cli.action = Action::Help;
      continue;
    }
    if (arg == "--version") {
      cli.action = Action::Version;
      continue;
    }
    if (arg == "--check-config") {
      cli.action = Action::CheckConfig;
      continue;
    }
    if (arg == "check" && i == 0) {  // the one-shot runbook check: `pgpulse check [flags]`
      cli.action = Action::Check;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      cli.errors.push_back({"argument \"" + arg + "\"", "", "unexpected argument (see --help)"});
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto take_value = [&]() -> std::optional<std::string> {
      if (inline_value) return inline_value;
      if (i + 1 < args.size()) return args[++i];
      cli.errors.push_back({origin, "", "missing value"});
      return std::nullopt;
    };
    if (name == "config") {
      if (auto value = take_value()) cli.config_path = RawValue{*value, origin};
      continue;
    }
    const KeySpec* spec = find_by_flag(schema, name);
    if (!spec && name.find('_') != std::string::npos) {
      // Flag words are joined by dashes; 0.1.0 spelled the collector switches with the
      // collector's name (--collector.idle_trend). The old spelling still works, with a warning.
      std::string dashed = name;
      std::replace(dashed.begin(), dashed.end(), '_', '-');
      auto negated_flag = [&](const std::string& flag) {
        const KeySpec* found =
            flag.rfind("no-", 0) == 0 ? find_by_flag(schema, flag.substr(3)) : nullptr;
        return found && found->boolean;
      };
      if (find_by_flag(schema, dashed) || negated_flag(dashed)) {
        cli.warnings.push_back("flag --" + name + " is deprecated: use --" + dashed);
        name = dashed;
        spec = find_by_flag(schema, name);
      }
    }
    bool negated = false;
    if (!spec && name.rfind("no-", 0) == 0) {
      spec = find_by_flag(schema, name.substr(3));
      negated = spec && spec->boolean;
      if (!negated) spec = nullptr;
    }
    if (!spec) {
      cli.errors.push_back({origin, "", "unknown flag (see --help)"});
      continue;
    }
    if (spec->boolean) {
      if (negated && inline_value) {
        cli.errors.push_back({origin, spec->key, "--no-" + spec->flag + " takes no value"});
        continue;
      }
      cli.values[spec->key] = RawValue{negated ? "false" : inline_value.value_or("true"), origin};
      continue;
    }
    if (auto value = take_value()) cli.values[spec->key] = RawValue{*value, origin};
  }
  return cli;
}

}  // namespace pgpulse::config
