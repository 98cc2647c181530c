#pragma once
// The runbook's steps, one function each (analysis-internal). Each reads the typed details it
// needs from the target's view and the thresholds table; none reads a JSON key.
#include <string>

#include "analysis/diagnosis.hpp"
#include "analysis/format.hpp"

namespace pgpulse::analysis {

std::string fmt_ratio(double ratio);  // "0.85"
// 1234567 -> "1.2M", 12345 -> "12.3k": transaction counts and bytes at a glance.
std::string fmt_count(double value, const char* unit = "");
DiagnosisStep skipped(std::string id, std::string title, std::string why);

// availability_steps.cpp
DiagnosisStep health_step(const core::TargetHealth& health);
DiagnosisStep connectivity_step(const core::TargetHealth& health);
DiagnosisStep connections_step(const DiagnosisInput& input);
DiagnosisStep pools_step(const DiagnosisInput& input);

// activity_steps.cpp
DiagnosisStep idle_step(const DiagnosisInput& input);
DiagnosisStep queries_step(const DiagnosisInput& input);

// security_steps.cpp
DiagnosisStep rls_step(const DiagnosisInput& input);
DiagnosisStep monitoring_step(const DiagnosisInput& input);

}  // namespace pgpulse::analysis
