#pragma once
// What the idle_trend collector tells its readers: idle counts, the oldest sessions, suspected
// leaks, the exhaustion forecast and a thinned window for the status page's sparkline.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace pgpulse::core {

struct TrendPoint {
  double t = 0;  // seconds, any epoch
  double value = 0;
};

struct OldestSession {
  std::string name;  // application_name for idle, datname for idle in transaction
  double seconds = 0;
  // The session itself, so a finding can say whom to end: pg_terminate_backend(pid).
  int pid = 0;
  std::string application_name, usename;
};

struct LeakSuspect {
  std::string application_name;
  double growth_per_minute = 0;
  double r2 = 0;
};

struct IdleTrendDetails {
  long idle = 0;
  long idle_in_transaction = 0;
  std::optional<OldestSession> oldest_idle;
  std::optional<OldestSession> oldest_idle_in_transaction;
  std::vector<LeakSuspect> leaks;  // suspected only
  std::optional<double> exhaustion_eta_seconds;
  long usable_connections = 0;
  // Client backends over the trend window, thinned to at most 120 points (peaks kept).
  std::vector<TrendPoint> client_backends;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrendPoint, t, value)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OldestSession, name, seconds, pid, application_name, usename)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LeakSuspect, application_name, growth_per_minute, r2)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(IdleTrendDetails, idle, idle_in_transaction, oldest_idle,
                                   oldest_idle_in_transaction, leaks, exhaustion_eta_seconds,
                                   usable_connections, client_backends)

}  // namespace pgpulse::core
