#pragma once
// `/`: a small self-contained HTML status page (no external assets, no JavaScript) for the human
// on call: a summary row per target, then per target the verdict, saturation with a sparkline
// of the trend window, the runbook steps, top offenders, the blocking tree, the top 5 statements
// by time, RLS posture and collector health; for a target it cannot read, why, once.
#include <string>
#include <string_view>

#include <vector>

#include "core/details/idle_trend.hpp"
#include "core/snapshot_store.hpp"

namespace pgpulse::exporter {

std::string html_escape(std::string_view text);

// Values scaled against `ceiling` (the usable slots), bottom 0, top the ceiling; a dashed line at
// `warning_ratio` of it (none when 0).
std::string sparkline_svg(const std::vector<core::TrendPoint>& points, double ceiling,
                          double warning_ratio = 0);

std::string render_status_page(const core::SnapshotStore::View& view, double now_unix);

}  // namespace pgpulse::exporter
