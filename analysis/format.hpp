#pragma once
// How the runbook's findings write durations and ratios, shared by its steps.
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

}  // namespace pgpulse::analysis
