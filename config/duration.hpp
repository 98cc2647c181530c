#pragma once
// Durations in the style of Prometheus flags: "500ms", "15s", "1m30s", "2h". A bare "0" is allowed.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pgpulse::config {

using Millis = std::chrono::milliseconds;

std::optional<Millis> parse_duration(std::string_view text);
std::string format_duration(Millis value);

}  // namespace pgpulse::config
