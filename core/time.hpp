#pragma once
// Time helpers shared by collectors, the scheduler and the pages.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <string>

namespace pgpulse::core {

inline double unix_seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

inline double unix_now() {
  return unix_seconds(std::chrono::system_clock::now());
}

// Seconds from `since` to `now` (both epoch seconds on the server's clock), 0 when `since` is NaN
// (a NULL timestamp) or in the future (clock skew between the two reads).
inline double age_seconds(double now, double since) {
  return std::isnan(since) ? 0.0 : std::max(0.0, now - since);
}

// "2026-12-02T07:42:46Z": RFC 3339 in UTC, whole seconds.
inline std::string utc_rfc3339(double epoch_seconds) {
  std::time_t seconds = static_cast<std::time_t>(epoch_seconds);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace pgpulse::core
