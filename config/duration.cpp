#include "config/duration.hpp"

#include <cctype>
#include <cstdint>
#include <limits>

namespace pgpulse::config {

namespace {
std::optional<std::int64_t> unit_millis(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60 * 1000;
  if (unit == "h") return 60 * 60 * 1000;
  if (unit == "d") return 24 * 60 * 60 * 1000;
  return std::nullopt;
}
}  // namespace

std::optional<Millis> parse_duration(std::string_view text) {
  if (text == "0") return Millis{0};
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (number > std::numeric_limits<std::int64_t>::max() / 10 - 10) return std::nullopt;
      number = number * 10 + (text[i] - '0');
      ++i;
      ++digits;
    }
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    if (digits == 0) return std::nullopt;
    auto factor = unit_millis(text.substr(unit_start, i - unit_start));
    if (!factor) return std::nullopt;
    if (number > (std::numeric_limits<std::int64_t>::max() - total) / *factor) return std::nullopt;
    total += number * *factor;
  }
  return Millis{total};
}

std::string format_duration(Millis value) {
  auto ms = value.count();
  if (ms == 0) return "0s";
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace pgpulse::config
