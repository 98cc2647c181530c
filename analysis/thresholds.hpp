#pragma once
// One table of thresholds and severities for the runbook's numeric findings. `pgpulse check`,
// /diagnose and the status page judge with it, and deploy/prometheus/alerts.yml carries the same
// numbers: tests/unit/thresholds_test.cpp reads the shipped rules and fails when they disagree.
#include <string_view>
#include <vector>

namespace pgpulse::analysis {

struct Threshold {
  std::string_view signal;  // what the analysis judges
  std::string_view metric;  // the series the alert compares
  double warning = 0;       // in the metric's unit; a value above it is a warning ...
  double critical = 0;      // ... and above this, critical
  std::string_view warning_alert, critical_alert;  // shipped alert names (same name: a pair)
  std::string_view warning_for, critical_for;      // their `for:`
};

// saturation, idle_in_transaction_seconds, long_query_seconds, long_transaction_seconds,
// lock_wait_seconds, exhaustion_eta_seconds (lower is worse: critical when below `critical`).
const std::vector<Threshold>& thresholds();
const Threshold& threshold(std::string_view signal);

// The critical lock pile-up needs this many blocked backends as well as the critical wait.
inline constexpr long kCriticalBlockedBackends = 10;

// A role or database connection limit is judged (ratio over kLimitRatio) only from this size:
// smaller ones are deliberate caps (pgpulse's own role, cron roles), not capacity.
inline constexpr long kMinJudgedConnectionLimit = 5;
inline constexpr double kLimitRatio = 0.9;

}  // namespace pgpulse::analysis
