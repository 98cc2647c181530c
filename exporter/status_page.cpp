#include "exporter/status_page.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "analysis/thresholds.hpp"
#include "core/details/connections.hpp"
#include "core/details/long_queries.hpp"
#include "core/details/pgbouncer.hpp"
#include "core/details/rls.hpp"
#include "core/details/statements.hpp"
#include "exporter/diagnose_page.hpp"
#include "exporter/status_sections.hpp"

namespace pgpulse::exporter {

namespace {

const char* const kStyle = R"CSS(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2125;background:#f7f8fa}
h1{font-size:20px;margin:0 0 .3em} h2{font-size:17px;margin:0} h3{font-size:14px;margin:1em 0 .3em}
section{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:1em;margin:1em 0}
table{border-collapse:collapse;width:100%} td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eef0f2;vertical-align:top}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;color:#fff;font-size:12px}
.ok{background:#2e7d32}.warning{background:#b26a00}.critical{background:#c62828}.skipped{background:#8a939c}.unknown{background:#5e35b1}
.num{font-size:24px;font-weight:600} .muted{color:#66707a} code{font-size:12px;overflow-wrap:anywhere}
nav a{margin-right:1em}
)CSS";

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// Milliseconds below 10 s, else seconds: statement means span microseconds to minutes.
std::string duration_text(double seconds) {
  return seconds < 10 ? fixed(seconds * 1000, seconds < 0.01 ? 2 : 1) + " ms"
                      : fixed(seconds, 1) + " s";
}

void statements_section(std::ostringstream& out, const core::TargetView& view) {
  out << "<h3>Top statements</h3>";
  const auto* d = view.find<core::StatementsDetails>();
  if (!d) {
    out << "<p class=\"muted\">no statement data (pg_stat_statements: see the collectors "
           "below)</p>";
    return;
  }
  if (!d->has_interval) {
    out << "<p class=\"muted\">first read of pg_stat_statements taken; the top statements "
           "follow after the next</p>";
    return;
  }
  out << "<p class=\"statements-summary\">over the last " << age_text(d->interval_seconds) << ": "
      << fixed(d->calls, 0) << " calls, mean " << duration_text(d->mean_seconds) << "; " << d->slow
      << " slow, " << d->chatty << " chatty, " << d->large_result << " large-result; " << d->tracked
      << " of " << d->max << " entries tracked</p>";
  if (d->top.empty()) return;
  out << "<table class=\"statements\"><tr><th>time</th><th>calls/s</th><th>mean</th>"
         "<th>rows/call</th><th>database</th><th>role</th><th>queryid</th><th></th>"
         "<th>statement</th></tr>";
  for (std::size_t i = 0; i < d->top.size() && i < 5; ++i) {
    const auto& s = d->top[i];
    std::string flags = std::string(s.slow ? "slow " : "") + (s.chatty ? "chatty " : "") +
                        (s.large_result ? "large-result" : "");
    out << "<tr><td>" << fixed(s.share_of_time * 100, 1) << "%</td><td>"
        << fixed(s.calls_per_second, 1) << "</td><td>" << duration_text(s.mean_seconds)
        << "</td><td>" << fixed(s.rows_per_call, 1) << "</td><td>" << html_escape(s.datname)
        << "</td><td>" << html_escape(s.usename) << "</td><td><code>" << html_escape(s.queryid)
        << "</code></td><td>" << (flags.empty() ? "" : status_badge("warning") + " " + flags)
        << "</td><td><code>" << html_escape(s.query) << "</code></td></tr>";
  }
  out << "</table>";
}

// A PgBouncer's pools, its client connections and its budget against the server it fronts.
void pgbouncer_section(std::ostringstream& out, const core::TargetView& view) {
  const auto& health = view.health;
  if (!health.server.empty()) {
    out << "<div class=\"fronts\">PgBouncer in front of <a href=\"#target-"
        << html_escape(health.server) << "\">" << html_escape(health.server) << "</a></div>";
  }
  const auto* pools = view.find<core::PgBouncerPoolsDetails>();
  if (!pools) {
    out << "<h3>Pools</h3><p class=\"muted\">no pool data</p>";
    return;
  }
  out << "<h3>Pools</h3><div><span class=\"num waiting\">" << pools->clients_waiting
      << "</span> <span class=\"muted\">clients waiting, the oldest for "
      << age_text(pools->max_wait_seconds) << "</span></div>";
  if (const auto* clients = view.find<core::PgBouncerClientsDetails>()) {
    out << "<div class=\"muted clients\">" << clients->client_connections
        << " client connections of max_client_conn " << clients->max_client_conn << "</div>";
  }
  out << "<div class=\"budget\">server budget: " << pools->server_budget << " connections";
  if (pools->server_known) {
    out << " against " << pools->server_usable_connections << " usable slots of "
        << html_escape(pools->server) << " (" << fixed(pools->server_budget_ratio * 100, 0) << "%)";
  }
  out << "</div><table class=\"pools\"><tr><th>database/user</th><th>mode</th><th>clients "
         "active</th><th>waiting</th><th>max wait</th><th>servers active</th><th>idle</th>"
         "<th>size</th><th>saturation</th></tr>";
  for (const auto& p : pools->pools) {
    out << "<tr><td>" << html_escape(p.database) << "/" << html_escape(p.user) << "</td><td>"
        << html_escape(p.pool_mode) << "</td><td>" << p.clients_active << "</td><td>"
        << p.clients_waiting << "</td><td>" << age_text(p.max_wait_seconds) << "</td><td>"
        << p.servers_active << "</td><td>" << p.servers_idle << "</td><td>" << p.size
        << (p.reserve > 0 ? " +" + std::to_string(p.reserve) : std::string()) << "</td><td>"
        << fixed(p.saturation * 100, 0) << "%</td></tr>";
  }
  out << "</table>";
}

void runbook_table(std::ostringstream& out, const analysis::TargetReport& report) {
  out << "<h3>Runbook</h3><table "
         "class=\"steps\"><tr><th></th><th>step</th><th>finding</th><th>next</th></tr>";
  for (const auto& step : report.steps) {
    out << "<tr class=\"step-" << html_escape(step.id) << "\"><td>"
        << status_badge(analysis::severity_label(step.severity)) << "</td><td>"
        << html_escape(step.title) << "</td><td>" << html_escape(step.finding) << "</td><td><code>"
        << html_escape(step.action) << "</code></td></tr>";
  }
  out << "</table>";
}

void target_section(std::ostringstream& out, const analysis::DiagnosisInput& input,
                    const analysis::TargetReport& report, double now,
                    const std::vector<std::string>& fronted_by) {
  const auto& view = input.target;
  const auto& health = view.health;
  out << "<section id=\"target-" << html_escape(report.target) << "\"><h2>"
      << html_escape(report.target) << " " << status_badge(analysis::severity_label(report.verdict))
      << "</h2><div class=\"muted\"><code>" << html_escape(health.dsn) << "</code></div>";

  // A target pgpulse cannot read: the runbook's first step says why (the error, once) and what
  // to check; no sections of data that would be empty or stale.
  if (!health.up) {
    out << "<p class=\"down\">" << status_badge("unknown") << " no data while pgpulse cannot read "
        << (health.kind == "pgbouncer" ? "this PgBouncer" : "this server")
        << ": the runbook says why and what to check</p>";
    runbook_table(out, report);
    collectors_table(out, health, now);
    return;
  }

  if (health.kind == "pgbouncer") {
    pgbouncer_section(out, view);
  } else if (!fronted_by.empty()) {
    out << "<div class=\"fronted\">behind PgBouncer: ";
    for (std::size_t i = 0; i < fronted_by.size(); ++i) {
      out << (i ? ", " : "") << "<a href=\"#target-" << html_escape(fronted_by[i]) << "\">"
          << html_escape(fronted_by[i]) << "</a>";
    }
    out << "</div>";
  }

  if (const auto* connections = view.find<core::ConnectionsDetails>()) {
    const auto* idle = view.find<core::IdleTrendDetails>();
    double usable = static_cast<double>(connections->usable_connections);
    double warning = analysis::threshold("saturation").warning;
    std::vector<core::TrendPoint> points;
    if (idle) points = idle->client_backends;
    out << "<h3>Saturation</h3><div><span class=\"num saturation\">"
        << fixed(connections->saturation * 100, 1) << "%</span> <span class=\"muted\">"
        << connections->client_backends << " of " << connections->usable_connections
        << " usable slots</span> " << sparkline_svg(points, usable, warning);
    if (points.size() >= 2) {
      out << " <span class=\"muted sparkline-caption\">client backends over the last "
          << age_text(points.back().t - points.front().t) << ", from 0 (bottom) to "
          << connections->usable_connections << " slots (top); dashed: the "
          << fixed(warning * 100, 0) << "% warning</span>";
    }
    out << "</div>";
  }

  runbook_table(out, report);

  if (health.kind == "pgbouncer") {
    collectors_table(out, health, now);
    return;
  }

  offenders_section(out, view);
  blocking_tree_section(out, view);
  statements_section(out, view);
  rls_section(out, view);

  collectors_table(out, health, now);
}

// One row per target at the top, worst finding first: what the on-call engineer reads before
// scrolling, with the time the page was made (it refreshes every 15 s).
void summary_table(std::ostringstream& out, const std::vector<analysis::DiagnosisInput>& inputs,
                   const std::vector<analysis::TargetReport>& reports, double now) {
  std::time_t seconds = static_cast<std::time_t>(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", &utc);
  out << "<p class=\"muted generated\">generated at " << stamp << "</p>";
  if (inputs.empty()) return;
  out << "<table class=\"summary\"><tr><th>target</th><th>verdict</th><th>server</th>"
         "<th>worst finding</th></tr>";
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& health = inputs[i].target.health;
    const auto& report = reports[i];
    const analysis::DiagnosisStep* worst = nullptr;
    for (const auto& step : report.steps) {
      if (step.severity > analysis::Severity::Ok && (!worst || step.severity > worst->severity)) {
        worst = &step;
      }
    }
    std::string server = health.kind == "pgbouncer" ? "PgBouncer " : "PostgreSQL ";
    auto version = core::version_text(health.kind, health.server_version);
    out << "<tr><td><a href=\"#target-" << html_escape(report.target) << "\">"
        << html_escape(report.target) << "</a></td><td>"
        << status_badge(analysis::severity_label(report.verdict)) << "</td><td>"
        << (version.empty() ? std::string("<span class=\"muted\">unknown</span>")
                            : html_escape(server + version))
        << "</td><td>"
        << (worst ? "<b>" + html_escape(worst->title) + "</b> " + html_escape(worst->finding)
                  : std::string("<span class=\"muted\">every step ok</span>"))
        << "</td></tr>";
  }
  out << "</table>";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string sparkline_svg(const std::vector<core::TrendPoint>& points, double ceiling,
                          double warning_ratio) {
  const double width = 240, height = 40;
  auto y_of = [&](double ratio) {
    return fixed(height - std::clamp(ratio, 0.0, 1.0) * (height - 2) - 1, 1);
  };
  std::ostringstream out;
  out << "<svg class=\"sparkline\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height << "\" role=\"img\">"
      << "<title>saturation over the trend window</title>";
  if (warning_ratio > 0) {
    out << "<line class=\"threshold\" x1=\"0\" x2=\"" << width << "\" y1=\"" << y_of(warning_ratio)
        << "\" y2=\"" << y_of(warning_ratio) << "\" stroke=\"#b26a00\" stroke-dasharray=\"4 3\"/>";
  }
  if (points.size() >= 2 && ceiling > 0) {
    double t0 = points.front().t, t1 = points.back().t;
    double span = std::max(t1 - t0, 1e-9);
    out << "<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.5\" points=\"";
    for (const auto& p : points) {
      out << fixed((p.t - t0) / span * width, 1) << "," << y_of(p.value / ceiling) << " ";
    }
    out << "\"/>";
  }
  out << "</svg>";
  return out.str();
}

std::string render_status_page(const core::SnapshotStore::View& view, double now_unix) {
  auto inputs = diagnosis_inputs(view);
  std::ostringstream out;
  out << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta http-equiv=\"refresh\" content=\"15\"><title>pgpulse status</title><style>"
      << kStyle << "</style></head><body><h1>pgpulse status</h1><nav>"
      << "<a href=\"/metrics\">/metrics</a><a href=\"/activity\">/activity</a>"
         "<a href=\"/statements\">/statements</a>"
         "<a href=\"/diagnose\">/diagnose</a><a href=\"/tables\">/tables</a>"
         "<a href=\"/readyz\">/readyz</a></nav>";
  if (inputs.empty()) out << "<p>No targets yet.</p>";
  std::vector<analysis::TargetReport> reports;
  for (const auto& input : inputs) reports.push_back(analysis::diagnose(input));
  summary_table(out, inputs, reports, now_unix);
  // diagnosis_inputs() puts each PgBouncer right after the server it fronts.
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& input = inputs[i];
    std::vector<std::string> fronted_by;
    for (const auto& other : inputs) {
      if (other.target.health.kind == "pgbouncer" &&
          other.target.health.server == input.target.target) {
        fronted_by.push_back(other.target.target);
      }
    }
    target_section(out, input, reports[i], now_unix, fronted_by);
  }
  out << "</body></html>\n";
  return out.str();
}

}  // namespace pgpulse::exporter
