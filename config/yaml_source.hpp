#pragma once
// Reads the YAML config file into flat dotted keys with their line numbers. Mappings nest into
// dotted keys, lists of scalars join with ",", lists of mappings (targets, pools) become records.
#include <map>
#include <string>
#include <vector>

#include "config/config_error.hpp"

namespace pgpulse::config {

struct YamlRecord {
  std::string origin;
  std::map<std::string, RawValue> fields;
};

struct YamlDocument {
  std::map<std::string, RawValue> values;
  std::map<std::string, std::vector<YamlRecord>> lists;
  // Keys written with nothing after them ("targets:") or with an empty list ("targets: []"):
  // "not set" for most keys, an error for the list of targets. Key -> origin.
  std::map<std::string, std::string> empty;
  bool blank = false;  // no key at all: an empty or comment-only file
  std::vector<ConfigError> errors;
};

YamlDocument read_yaml(const std::string& text, const std::string& file_name);

}  // namespace pgpulse::config
