#pragma once
#include <string>
#include <vector>

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

// One error per line, as --check-config and a failed start print them.
inline std::string error_lines(const std::vector<ConfigError>& errors) {
  std::string text;
  for (const auto& e : errors) text += e.to_string() + "\n";
  return text;
}

}  // namespace pgpulse::config
