#pragma once
// What the scheduler knows about one target: connection state, error counts and every
// collector's last run. Published as the target's "health" snapshot: series for /metrics and the
// same struct, typed, for /readyz, /diagnose and the status page.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/exposition.hpp"

namespace pgpulse::core {

inline constexpr const char* kHealthSnapshot = "health";

struct CollectorHealth {
  std::string name;
  double interval_seconds = 0;
  // False when the collector does not apply to this target (an extension that is not installed,
  // a primary-only view on a standby, a server version without the view): neither a failure nor
  // a readiness blocker. Decided at every (re)connect.
  bool applicable = true;
  std::string not_applicable_reason;
  bool ran = false;      // at least one run finished since start
  bool success = false;  // the last run succeeded
  double duration_seconds = 0;
  double last_success_unix = 0;  // 0: never
  std::string last_error;
  // Parts of the last successful run that could not be read (databases, for a per-database
  // collector): the run succeeded, but its picture is partial.
  std::size_t failed_parts = 0;
};

struct TargetHealth {
  std::string target;
  std::string kind = "postgres";  // or "pgbouncer"
  std::string server;             // pgbouncer targets: the postgres target it fronts, if named
  std::string dsn;                // redacted
  bool up = false;
  bool connected_once = false;
  std::string last_error;  // libpq's text: names host, port and user, never the password
  std::string last_error_reason;
  std::map<std::string, double> connect_errors;  // reason -> count since start
  int server_version = 0;
  std::vector<CollectorHealth> collectors;
};

// Every reason label exists from the start at 0, so rate() and increase() see the first error.
const std::vector<std::string>& connect_error_reasons();

Families health_families(const TargetHealth& health);

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CollectorHealth, name, interval_seconds, applicable,
                                   not_applicable_reason, ran, success, duration_seconds,
                                   last_success_unix, last_error, failed_parts)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TargetHealth, target, kind, server, dsn, up, connected_once,
                                   last_error, last_error_reason, connect_errors, server_version,
                                   collectors)

}  // namespace pgpulse::core
