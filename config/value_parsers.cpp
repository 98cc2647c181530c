// The value parsers config_schema.hpp declares, shared by the schema's entries and the list
// entries (targets, pools): one wording of each error, whatever the source of the value.
#include <charconv>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/config_schema.hpp"
#include "config/duration.hpp"

namespace pgpulse::config {

std::string parse_bool(const std::string& value, bool& out) {
  if (value == "true" || value == "1" || value == "yes" || value == "on") {
    out = true;
    return "";
  }
  if (value == "false" || value == "0" || value == "no" || value == "off") {
    out = false;
    return "";
  }
  return "invalid boolean \"" + value + "\" (expected true or false)";
}

std::string parse_positive_duration(const std::string& value, Millis minimum, Millis& out) {
  auto parsed = parse_duration(value);
  if (!parsed) return "invalid duration \"" + value + "\" (expected e.g. 500ms, 15s, 1m, 2h)";
  if (*parsed < minimum) {
    return "duration \"" + value + "\" is below the minimum of " + format_duration(minimum);
  }
  out = *parsed;
  return "";
}

std::string parse_int(const std::string& value, long minimum, long maximum, long& out) {
  long parsed = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return "invalid integer \"" + value + "\"";
  }
  if (parsed < minimum || parsed > maximum) {
    return "value " + value + " is out of range [" + std::to_string(minimum) + ", " +
           std::to_string(maximum) + "]";
  }
  out = parsed;
  return "";
}

std::string parse_double(const std::string& value, double minimum, double maximum, double& out) {
  char* end = nullptr;
  double parsed = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || parsed != parsed) {
    return "invalid number \"" + value + "\"";
  }
  if (parsed < minimum || parsed > maximum) {
    return "value " + value + " is out of range [" + std::to_string(minimum) + ", " +
           std::to_string(maximum) + "]";
  }
  out = parsed;
  return "";
}

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> items;
  std::string current;
  auto flush = [&] {
    auto first = current.find_first_not_of(" \t");
    auto last = current.find_last_not_of(" \t");
    if (first != std::string::npos) items.push_back(current.substr(first, last - first + 1));
    current.clear();
  };
  for (char c : value) {
    if (c == ',') {
      flush();
    } else {
      current.push_back(c);
    }
  }
  flush();
  return items;
}

}  // namespace pgpulse::config
