#pragma once
// `pgpulse check --daemon URL`: the runbook report of a running pgpulse, read from its /diagnose.
// When the server is full, check cannot connect, but the daemon already holds its slot and knows
// who holds the others.
#include <string>
#include <vector>

#include "analysis/diagnosis.hpp"

namespace pgpulse::daemon {

struct DaemonReport {
  std::vector<analysis::TargetReport> reports;
  std::string error;  // "" when read; else why not (connect failed, HTTP status, not JSON)
};

// GET <url>/diagnose with a 5-second deadline; url is http://host:port (a path is ignored).
DaemonReport fetch_daemon_report(const std::string& url);

}  // namespace pgpulse::daemon
