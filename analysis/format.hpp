#pragma once
// How the runbook steps (and the status page) write durations, statement latencies and trace
// links (ratios and counts are in steps.hpp).
#include <sstream>
#include <string>

#include "core/details/trace.hpp"

namespace pgpulse::analysis {

// Ages and durations: "2d3h", "3h12m", "4m5s", "42s" (whole seconds; diagnosis.cpp).
std::string fmt_seconds(double seconds);

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

// " (trace <id>, route /api/x, controller tickets, <link>)" for a query that carried a
// sqlcommenter comment; "" for one that did not.
inline std::string fmt_trace(const core::TraceContext& trace) {
  std::string parts;
  auto add = [&](const char* name, const std::string& value) {
    if (!value.empty()) parts += (parts.empty() ? "" : ", ") + std::string(name) + value;
  };
  add("trace ", trace.trace_id);
  add("route ", trace.route);
  add("controller ", trace.controller);
  add("action ", trace.action);
  add("application ", trace.application);
  add("", trace.url);
  return parts.empty() ? "" : " (" + parts + ")";
}

}  // namespace pgpulse::analysis
