#include "exporter/status_sections.hpp"

#include <cmath>
#include <cstdio>

#include "analysis/format.hpp"
#include "core/details/locks.hpp"
#include "core/details/long_queries.hpp"
#include "core/details/pgbouncer.hpp"
#include "core/details/rls.hpp"

namespace pgpulse::exporter {

namespace {

std::string pid_list(const std::vector<int>& pids) {
  std::string out;
  for (int pid : pids) out += (out.empty() ? "" : ", ") + std::to_string(pid);
  return out;
}

// The request behind a query (sqlcommenter): its route, and its trace id linked to the tracing UI
// when tracing.url_template is set. The id is hex and the link built from the config's template.
std::string trace_cell(const core::TraceContext& trace) {
  std::string out;
  if (!trace.route.empty()) out += "<code class=\"route\">" + html_escape(trace.route) + "</code> ";
  if (!trace.url.empty()) {
    out += "<a class=\"trace\" href=\"" + html_escape(trace.url) + "\">" +
           html_escape(trace.trace_id) + "</a>";
  } else if (!trace.trace_id.empty()) {
    out += "<code class=\"trace\">" + html_escape(trace.trace_id) + "</code>";
  }
  return out;
}

std::string dash_or(double seconds) {
  return seconds > 0 ? age_text(seconds) : std::string("<span class=\"muted\">-</span>");
}

void tree_node(std::ostringstream& out, const core::BlockingNode& node, int depth) {
  out << "<li><b>pid " << node.pid << "</b> " << html_escape(node.application_name) << " ("
      << html_escape(node.usename) << "@" << html_escape(node.datname) << ", "
      << html_escape(node.state) << ") <code>" << html_escape(node.query) << "</code>";
  if (!node.waiting.empty() && depth < 8) {  // the collector bounds the depth too
    out << "<ul>";
    for (const auto& child : node.waiting) tree_node(out, child, depth + 1);
    out << "</ul>";
  }
  out << "</li>";
}

}  // namespace

std::string status_badge(std::string_view severity) {
  std::string s(severity);
  return "<span class=\"badge " + s + "\">" + s + "</span>";
}

std::string age_text(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  if (seconds < 10) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds < 0 ? 0.0 : seconds);
    return buffer;
  }
  return analysis::fmt_seconds(seconds);
}

void offenders_section(std::ostringstream& out, const core::TargetView& view) {
  const auto* queries = view.find<core::LongQueriesDetails>();
  out << "<h3>Top offenders</h3>";
  if (!queries || queries->offenders.empty()) {
    out << "<p class=\"muted\">no long queries or open transactions</p>";
    return;
  }
  out << "<table class=\"offenders\"><tr><th>pid</th><th>database</th><th>application</th>"
         "<th>role</th><th>state</th><th>query</th><th>transaction</th><th>idle for</th>"
         "<th>blocked by</th><th>wait</th><th>trace</th><th>query text</th></tr>";
  const auto* via = view.find<core::PgBouncerBackendsDetails>();
  for (std::size_t i = 0; i < queries->offenders.size() && i < 10; ++i) {
    const auto& o = queries->offenders[i];
    std::string through = via ? via->via(o.pid) : "";
    out << "<tr><td>" << o.pid << "</td><td>" << html_escape(o.datname) << "</td><td>"
        << html_escape(o.application_name)
        << (through.empty()
                ? ""
                : " <span class=\"muted via\">through " + html_escape(through) + "</span>")
        << "</td><td>" << html_escape(o.usename) << "</td><td>" << html_escape(o.state)
        << "</td><td>" << dash_or(o.query_seconds) << "</td><td>" << dash_or(o.transaction_seconds)
        << "</td><td>" << dash_or(o.idle_seconds) << "</td><td class=\"blocked-by\">"
        << pid_list(o.blocked_by) << "</td><td>" << html_escape(o.wait_event) << "</td><td>"
        << trace_cell(o.trace) << "</td><td><code>" << html_escape(o.query) << "</code></td></tr>";
  }
  out << "</table>";
}

void blocking_tree_section(std::ostringstream& out, const core::TargetView& view) {
  const auto* locks = view.find<core::LocksDetails>();
  if (!locks || locks->blocking_tree.empty()) return;  // nothing blocked: no empty section
  out << "<h3>Blocking tree</h3><p class=\"muted\">" << locks->blocked
      << " backend(s) wait on locks, the longest for " << age_text(locks->max_wait_seconds)
      << "; each root holds what those under it wait for (end the root to free them all)</p>"
      << "<ul class=\"blocking-tree\">";
  for (const auto& root : locks->blocking_tree) tree_node(out, root, 0);
  out << "</ul>";
}

void rls_section(std::ostringstream& out, const core::TargetView& view) {
  out << "<h3>Row-level security</h3>";
  const auto* rls = view.find<core::RlsDetails>();
  if (!rls) {
    out << "<p class=\"muted\">no catalog scan yet</p>";
    return;
  }
  const auto& unprotected = rls->unprotected_tenant_tables;
  out << "<p class=\"rls\">" << unprotected.size() << " tenant table(s) without RLS in force";
  for (std::size_t i = 0; i < unprotected.size() && i < 20; ++i) {
    const auto& t = unprotected[i];
    out << (i ? ", " : ": ") << "<code>" << html_escape(t.datname) << ":" << html_escape(t.schema)
        << "." << html_escape(t.table) << "</code> (" << html_escape(t.status) << ")";
  }
  out << "</p><p class=\"rls-bypass\">";
  std::string flagged, expected;  // the flagged ones as code, to copy into an ALTER ROLE
  for (const auto& role : rls->bypass_roles) {
    if (role.exempt) {
      expected += (expected.empty() ? "" : ", ") + html_escape(role.rolname) + " (" +
                  html_escape(role.reason) + ")";
    } else {
      flagged += (flagged.empty() ? "" : ", ") + std::string("<code>") + html_escape(role.rolname) +
                 "</code> (" + html_escape(role.reason) + ")";
    }
  }
  out << (flagged.empty() ? std::string("no role bypasses RLS outside rls.exempt_roles")
                          : status_badge("warning") + " bypass RLS: " + flagged);
  if (!expected.empty()) out << "; exempt (rls.exempt_roles): " << expected;
  out << "</p>";
}

void collectors_table(std::ostringstream& out, const core::TargetHealth& health, double now) {
  out << "<h3>Collectors</h3><table class=\"collectors\"><tr><th>collector</th><th>status</th>"
         "<th>last success</th><th>duration</th><th>error</th></tr>";
  for (const auto& c : health.collectors) {
    if (!c.applicable) {
      out << "<tr><td>" << html_escape(c.name) << "</td><td>" << status_badge("skipped")
          << "</td><td colspan=\"3\">not applicable: " << html_escape(c.not_applicable_reason)
          << "</td></tr>";
      continue;
    }
    // While the target is down every collector fails with the connection's error, which the
    // runbook's first step shows.
    bool same_as_target = !health.up && !health.last_error.empty() &&
                          c.last_error.find(health.last_error) != std::string::npos;
    out << "<tr><td>" << html_escape(c.name) << "</td><td>"
        << status_badge(c.success ? "ok" : (c.ran ? "critical" : "skipped")) << "</td><td>"
        << (c.last_success_unix > 0 ? age_text(now - c.last_success_unix) + " ago"
                                    : std::string("never"))
        << "</td><td>" << analysis::fmt_latency(c.duration_seconds) << "</td><td>"
        << (same_as_target
                ? std::string("<span class=\"muted\">the connection's (runbook step 1)</span>")
                : html_escape(c.last_error))
        << "</td></tr>";
  }
  out << "</table></section>";
}

}  // namespace pgpulse::exporter
