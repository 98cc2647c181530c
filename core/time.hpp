#pragma once
// Time helpers shared by collectors, the scheduler and the pages.
#include <algorithm>
#include <chrono>
#include <cmath>

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

}  // namespace pgpulse::core
