#pragma once
// The checks that tie a target's kind to the rest of its entry and to the other targets: only a
// pgbouncer target names a server, that server is a postgres target of the same config, and a
// pgbouncer target connects to the admin console (dbname=pgbouncer).
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"
#include "config/yaml_source.hpp"

namespace pgpulse::config {

// One entry of `targets:` as parsed, against its own YAML record (for the lines of the errors).
std::vector<ConfigError> check_target_kind(const TargetConfig& target, const YamlRecord& record);

// Every `server:` names a postgres target of the list; origins[i] is where targets[i] is written.
std::vector<ConfigError> check_target_links(const std::vector<TargetConfig>& targets,
                                            const std::vector<std::string>& origins);

}  // namespace pgpulse::config
