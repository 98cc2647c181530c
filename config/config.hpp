#pragma once
// The one validated configuration every other layer reads. Built by config_loader from flags,
// environment and an optional YAML file (flags > environment > file > defaults).
#include <map>
#include <string>
#include <vector>

#include "config/duration.hpp"

namespace pgpulse::config {

struct TargetConfig {
  std::string name;           // the `target` label
  std::string dsn;            // libpq conninfo or URI; may hold a password: log redact_dsn(dsn) only
  std::string password_file;  // optional; its first line is the password
  bool operator==(const TargetConfig&) const = default;
};

struct CollectorConfig {
  bool enabled = true;
  Millis interval{0};
  bool operator==(const CollectorConfig&) const = default;
};

struct PgConfig {
  Millis connect_timeout{5000};
  Millis statement_timeout{5000};  // server side; the client deadline adds a margin on top
  Millis max_backoff{60000};       // reconnect backoff cap (also capped by the collector interval)
  bool operator==(const PgConfig&) const = default;
};

struct Config {
  std::vector<TargetConfig> targets;
  std::string listen_address = "0.0.0.0:9188";
  std::string log_level = "info";
  std::string log_format = "text";
  Millis interval{15000};
  PgConfig pg;
  int label_max_values = 50;                         // distinct values per label before "other"
  std::map<std::string, CollectorConfig> collectors;  // every known collector, resolved
  std::string config_file;                           // empty when no file was given

  bool operator==(const Config&) const = default;
};

}  // namespace pgpulse::config
