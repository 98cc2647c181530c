#include "analysis/thresholds.hpp"

#include <stdexcept>
#include <string>

namespace pgpulse::analysis {

// pgMonitor's pairs are the reference for the ages; the runbook (docs/runbook.md) says why each
// number and `for:` is what it is.
const std::vector<Threshold>& thresholds() {
  static const std::vector<Threshold> table{
      {"saturation", "pgpulse_connection_saturation_ratio", 0.8, 0.95,
       "PostgresConnectionsNearLimit", "PostgresConnectionsExhausted", "5m", "1m"},
      {"idle_in_transaction_seconds", "pgpulse_idle_in_transaction_max_age_seconds", 300, 1800,
       "PostgresIdleInTransactionStuck", "PostgresIdleInTransactionStuck", "1m", "1m"},
      {"long_query_seconds", "pgpulse_longest_query_seconds", 300, 1800, "PostgresLongRunningQuery",
       "PostgresLongRunningQuery", "1m", "1m"},
      {"long_transaction_seconds", "pgpulse_longest_transaction_seconds", 3600, 14400,
       "PostgresLongRunningTransaction", "PostgresLongRunningTransaction", "5m", "5m"},
      {"lock_wait_seconds", "pgpulse_lock_wait_max_seconds", 30, 60, "PostgresQueriesBlocked",
       "PostgresQueriesBlocked", "2m", "2m"},
      {"exhaustion_eta_seconds", "pgpulse_connection_exhaustion_eta_seconds", 3600, 0,
       "PostgresConnectionExhaustionForecast", "", "10m", ""},
  };
  return table;
}

const Threshold& threshold(std::string_view signal) {
  for (const auto& t : thresholds()) {
    if (t.signal == signal) return t;
  }
  throw std::logic_error("no threshold for " + std::string(signal));
}

}  // namespace pgpulse::analysis
