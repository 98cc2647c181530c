#pragma once
// `/`: a small self-contained HTML status page (no external assets, no JavaScript) for the human
// on call: per target the verdict, saturation with a sparkline of the trend window, the runbook
// steps, top offenders, the top 5 statements by time, RLS posture and collector health.
#include <string>
#include <string_view>

#include <vector>

#include "core/details/idle_trend.hpp"
#include "core/snapshot_store.hpp"

namespace pgpulse::exporter {

std::string html_escape(std::string_view text);

// Values scaled against `ceiling` (the usable slots).
std::string sparkline_svg(const std::vector<core::TrendPoint>& points, double ceiling);

std::string render_status_page(const core::SnapshotStore::View& view, double now_unix);

}  // namespace pgpulse::exporter
