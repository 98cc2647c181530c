#pragma once
// The runbook steps about the database's own health, from the database, horizon, replication
// and standby collectors' details: wraparound, who holds the xmin horizon back, replication.
// Pure, like the rest of diagnose().
#include "analysis/diagnosis.hpp"

namespace pgpulse::analysis {

// Thresholds shared with deploy/prometheus/alerts.yml, which says why they are what they are.
inline constexpr double kWraparoundWarning = 0.5, kWraparoundCritical = 0.75;
inline constexpr double kHorizonWarningXids = 50e6, kHorizonCriticalXids = 150e6;
inline constexpr double kHorizonWarningSeconds = 3600;
inline constexpr double kLagWarningSeconds = 60, kLagCriticalSeconds = 600;
inline constexpr double kInactiveSlotWarningBytes = 1024.0 * 1024 * 1024;

DiagnosisStep wraparound_step(const DiagnosisInput& input);
DiagnosisStep horizon_step(const DiagnosisInput& input);
DiagnosisStep replication_step(const DiagnosisInput& input);
// Adds the settings waiting for a restart (the settings collector) to the health step's finding:
// not a problem by itself, but what the next restart will change.
void note_pending_restart(DiagnosisStep& health, const DiagnosisInput& input);

}  // namespace pgpulse::analysis
