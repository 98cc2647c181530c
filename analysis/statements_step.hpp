#pragma once
// The runbook's "which statement got slow" step, from the statements collector's interval:
// slow and large-result statements are warnings, chatty ones (batch candidates) and an evicting
// pg_stat_statements are said. Pure, like the other steps.
#include "analysis/diagnosis.hpp"

namespace pgpulse::analysis {

inline constexpr const char* kStatementsTitle = "Statements by time";

DiagnosisStep statements_step(const DiagnosisInput& input);

}  // namespace pgpulse::analysis
