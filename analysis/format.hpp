#pragma once
// How the runbook steps write numbers: durations as 1h2m / 3m4s / 5s, ratios with two decimals,
// short durations in milliseconds.
#include <sstream>
#include <string>

namespace pgpulse::analysis {

inline std::string fmt_seconds(double seconds) {
  std::ostringstream out;
  if (seconds >= 3600) {
    out << static_cast<long>(seconds / 3600) << "h" << static_cast<long>(seconds / 60) % 60 << "m";
  } else if (seconds >= 60) {
    out << static_cast<long>(seconds / 60) << "m" << static_cast<long>(seconds) % 60 << "s";
  } else {
    out << static_cast<long>(seconds) << "s";
  }
  return out.str();
}

inline std::string fmt_ratio(double ratio) {
  std::ostringstream out;
  out.precision(2);
  out << std::fixed << ratio;
  return out.str();
}

// Statement means: "0.25 ms", "12.3 ms", "2.40 s".
inline std::string fmt_latency(double seconds) {
  std::ostringstream out;
  out.precision(seconds < 0.001 ? 3 : seconds < 1 ? 1 : 2);
  out << std::fixed;
  if (seconds < 1) {
    out << seconds * 1000 << " ms";
  } else {
    out << seconds << " s";
  }
  return out.str();
}

}  // namespace pgpulse::analysis
