#pragma once
#include <string>

namespace pgpulse::config {

// A setting's text and where it came from, so an error can point at it.
struct RawValue {
  std::string value;
  std::string origin;  // "pgpulse.yml:12", "flag --interval", "environment PGPULSE_INTERVAL"
};

struct ConfigError {
  std::string origin;
  std::string key;  // may be empty for errors about the whole file
  std::string message;

  std::string to_string() const {
    return origin + ": " + (key.empty() ? "" : "key \"" + key + "\": ") + message;
  }
};

}  // namespace pgpulse::config
