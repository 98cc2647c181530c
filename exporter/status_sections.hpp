#pragma once
// The status page's per-target sections about sessions and posture (exporter-internal, used by
// status_page.cpp): top offenders, the blocking tree, row-level security and collector health,
// and the one duration format the whole page writes. Pure renderings of typed details.
#include <sstream>
#include <string>
#include <string_view>

#include "core/target_view.hpp"

namespace pgpulse::exporter {

std::string html_escape(std::string_view text);
std::string status_badge(std::string_view severity);

// Every duration and age on the page: "0.4s" and "4.2s" under 10 s, then "42s", "4m5s",
// "3h12m", "2d3h" (the runbook's format).
std::string age_text(double seconds);

// The longest queries and transactions: pid, database, application (and the PgBouncer pool it
// came through), role, state, query age, transaction age, idle-in-transaction time, the pids
// blocking it, its wait, its trace and its normalised text.
void offenders_section(std::ostringstream& out, const core::TargetView& view);
// Who blocks whom, drawn as nested lists from each root blocker.
void blocking_tree_section(std::ostringstream& out, const core::TargetView& view);
// Unprotected tenant tables and the roles that bypass RLS, by name.
void rls_section(std::ostringstream& out, const core::TargetView& view);
// One row per collector. The target's connection error is not repeated per collector (the
// runbook's first step has it).
void collectors_table(std::ostringstream& out, const core::TargetHealth& health, double now);

}  // namespace pgpulse::exporter
