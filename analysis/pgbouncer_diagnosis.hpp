#pragma once
// The runbook of a pgbouncer target (is it up, who waits, which pool is full, client connections
// against max_client_conn, the budget against the server it fronts), and what a PostgreSQL
// target's steps say of the sessions PgBouncer holds there. Pure, like diagnose().
#include <string>
#include <vector>

#include "analysis/diagnosis.hpp"

namespace pgpulse::analysis {

// Thresholds of the pool steps; the alert rules use their own, sustained, ones.
inline constexpr double kWaitWarningSeconds = 1;    // a client queued for a second or more
inline constexpr double kWaitCriticalSeconds = 30;  // applications time out about now
inline constexpr double kClientsWarningRatio = 0.8;
inline constexpr double kClientsCriticalRatio = 0.95;

std::vector<DiagnosisStep> pgbouncer_steps(const DiagnosisInput& input);

// " (through pgbouncer X pool db/user)" for a backend of a postgres target, or "".
std::string through_pgbouncer(const DiagnosisInput& input, int pid);
// "; N of them through PgBouncer (X pool db/user N, ...), M direct" on a postgres target that
// PgBouncer fronts, or "".
std::string pgbouncer_share(const DiagnosisInput& input);
// "; N idle in transaction through pgbouncer X pool db/user" for the pools that hold some.
std::string pgbouncer_idle_transactions(const DiagnosisInput& input);

}  // namespace pgpulse::analysis
