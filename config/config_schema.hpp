#pragma once
// Every scalar setting, once: its config key, flag, environment variable, default and parser. The
// loader, --help and docs all read this table, so a new setting is one entry here.
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace pgpulse::config {

// What the daemon's collector registry tells config about each collector (config never sees the
// collectors themselves: the flow stays one way).
struct CollectorInfo {
  std::string name;
  bool default_enabled = true;
  Millis default_interval{0};  // 0: the global --interval
  std::string help;
};

struct KeySpec {
  std::string key;   // YAML path, dotted: "web.listen_address", "collector.rls.interval"
  std::string flag;  // without "--": "web.listen-address"
  std::string env;   // "PGPULSE_WEB_LISTEN_ADDRESS"
  std::string default_text;
  std::string help;
  std::string metavar = "VALUE";     // what --help shows after the flag: DURATION, N, FILE, ...
  std::vector<std::string> choices;  // the accepted values of an enum; empty: any
  bool boolean = false;              // a switch: --flag sets true, --no-flag sets false
  bool secret = false;               // never echo the value in errors
  // Parses `value` into `config`; returns "" or a message that says what was expected.
  std::function<std::string(Config& config, const std::string& value)> apply;
};

std::vector<KeySpec> build_schema(const std::vector<CollectorInfo>& collectors);

// Shared value parsers, also used for list entries (targets, pools).
std::string parse_bool(const std::string& value, bool& out);
std::string parse_positive_duration(const std::string& value, Millis minimum, Millis& out);
std::string parse_int(const std::string& value, long minimum, long maximum, long& out);
std::string parse_double(const std::string& value, double minimum, double maximum, double& out);
std::vector<std::string> split_list(const std::string& value);

}  // namespace pgpulse::config
