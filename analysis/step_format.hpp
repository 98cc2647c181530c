#pragma once
// How the runbook steps write numbers, shared by diagnosis.cpp and health_steps.cpp.
#include <sstream>
#include <string>

#include "analysis/diagnosis.hpp"

namespace pgpulse::analysis {

inline std::string fmt_seconds(double seconds) {
  std::ostringstream out;
  if (seconds >= 86400) {
    out << static_cast<long>(seconds / 86400) << "d" << static_cast<long>(seconds / 3600) % 24
        << "h";
  } else if (seconds >= 3600) {
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

// 1234567 -> "1.2M", 12345 -> "12.3k": transaction counts and bytes at a glance.
inline std::string fmt_count(double value, const char* unit = "") {
  std::ostringstream out;
  out.precision(1);
  out << std::fixed;
  if (value >= 1e9) {
    out << value / 1e9 << "G";
  } else if (value >= 1e6) {
    out << value / 1e6 << "M";
  } else if (value >= 1e3) {
    out << value / 1e3 << "k";
  } else {
    out.precision(0);
    out << value;
  }
  out << unit;
  return out.str();
}

inline DiagnosisStep skipped(std::string id, std::string title, std::string why) {
  return DiagnosisStep{std::move(id), std::move(title), Severity::Skipped, std::move(why), ""};
}

}  // namespace pgpulse::analysis
