#pragma once
// `pgpulse check`: connect to every target once, run every enabled collector once, and print the
// runbook report (analysis/diagnosis.hpp). Exit 0 healthy, 1 warning, 2 critical.
#include "config/config.hpp"

namespace pgpulse::daemon {

int run_check(const config::Config& config);

}  // namespace pgpulse::daemon
