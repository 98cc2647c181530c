// The status page's sections on made-up details: offenders with database, idle-for and
// blocked-by; the blocking tree drawn; bypass roles named; one duration format; the sparkline's
// threshold; and a target it cannot read shown once, without empty sections.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>

#include "core/details/locks.hpp"
#include "core/details/long_queries.hpp"
#include "core/details/rls.hpp"
#include "core/snapshot_store.hpp"
#include "core/target_health.hpp"
#include "exporter/status_page.hpp"
#include "exporter/status_sections.hpp"

using namespace pgpulse::core;
using namespace pgpulse::exporter;

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

BlockingNode node(int pid, std::string app) {
  BlockingNode n;
  n.pid = pid;
  n.application_name = std::move(app);
  n.usename = "app";
  n.datname = "shop";
  n.state = "active";
  n.query = "SELECT count(*) FROM invoices";
  return n;
}

}  // namespace

TEST_CASE("durations on the status page have one format") {
  CHECK(age_text(0.42) == "0.4s");
  CHECK(age_text(4.24) == "4.2s");
  CHECK(age_text(std::nan("")) == "-");  // never a cast of NaN
  CHECK(age_text(42) == "42s");
  CHECK(age_text(75) == "1m15s");
  CHECK(age_text(3 * 3600 + 12 * 60) == "3h12m");
  CHECK(age_text(-1) == "0.0s");  // clock skew never shows a negative age
}

TEST_CASE("offenders show database, idle-for and blocked-by; the tree shows who blocks whom") {
  TargetView view;
  LongQueriesDetails queries;
  Offender idle;
  idle.pid = 7;
  idle.datname = "shop";
  idle.application_name = "billing-worker";
  idle.state = "idle in transaction";
  idle.transaction_seconds = 80;
  idle.idle_seconds = 75;
  Offender waiter;
  waiter.pid = 8;
  waiter.datname = "shop";
  waiter.state = "active";
  waiter.query_seconds = 12;
  waiter.transaction_seconds = 12;
  waiter.blocked_by = {7, 9};
  queries.offenders = {idle, waiter};
  view.add("long_queries", queries);
  std::ostringstream offenders;
  offenders_section(offenders, view);
  auto html = offenders.str();
  CHECK(html.find("<th>database</th>") != std::string::npos);
  CHECK(html.find("<th>idle for</th>") != std::string::npos);
  CHECK(html.find("<th>blocked by</th>") != std::string::npos);
  // pid 7: no running query, an 80 s transaction idle for 75 s
  CHECK(html.find("<td>7</td><td>shop</td><td>billing-worker</td>") != std::string::npos);
  CHECK(html.find("<td><span class=\"muted\">-</span></td><td>1m20s</td><td>1m15s</td>") !=
        std::string::npos);
  CHECK(html.find("<td class=\"blocked-by\">7, 9</td>") != std::string::npos);

  std::ostringstream none;
  blocking_tree_section(none, view);
  CHECK(none.str().empty());  // nothing blocked: no empty section
  LocksDetails locks;
  locks.blocked = 3;
  locks.max_wait_seconds = 65;
  auto root = node(7, "report-job");
  auto middle = node(8, "web");
  middle.waiting = {node(10, "web")};
  root.waiting = {middle, node(9, "web")};
  locks.blocking_tree = {root};
  view.add("locks", locks);
  std::ostringstream tree;
  blocking_tree_section(tree, view);
  auto drawn = tree.str();
  CHECK(drawn.find("3 backend(s) wait on locks, the longest for 1m5s") != std::string::npos);
  // pid 10 waits for 8, which waits for the root 7: nested one level deeper each time
  auto at7 = drawn.find("<li><b>pid 7</b> report-job"), at8 = drawn.find("<li><b>pid 8</b>"),
       at10 = drawn.find("<li><b>pid 10</b>"), at9 = drawn.find("<li><b>pid 9</b>");
  REQUIRE(at7 != std::string::npos);
  REQUIRE(at8 != std::string::npos);
  REQUIRE(at9 != std::string::npos);
  REQUIRE(at10 != std::string::npos);
  CHECK(at7 < at8);
  CHECK(at8 < at10);
  CHECK(at10 < at9);
  CHECK(drawn.substr(at8, at10 - at8).find("<ul>") != std::string::npos);
  CHECK(drawn.substr(at10, at9 - at10).find("</ul></li>") != std::string::npos);
}

TEST_CASE("the roles that bypass RLS are named, the exempt ones apart") {
  TargetView view;
  RlsDetails rls;
  rls.bypass_roles = {{"postgres", "superuser", true}, {"etl", "bypassrls", false}};
  view.add("rls", rls);
  std::ostringstream out;
  rls_section(out, view);
  auto html = out.str();
  CHECK(html.find("bypass RLS: <code>etl</code> (bypassrls)") != std::string::npos);
  CHECK(html.find("exempt (rls.exempt_roles): postgres (superuser)") != std::string::npos);
  rls.bypass_roles = {{"postgres", "superuser", true}};
  TargetView exempt_only;
  exempt_only.add("rls", rls);
  std::ostringstream quiet;
  rls_section(quiet, exempt_only);
  CHECK(quiet.str().find("no role bypasses RLS outside rls.exempt_roles") != std::string::npos);
}

TEST_CASE("the sparkline draws its warning threshold") {
  auto svg = sparkline_svg({{0, 0}, {10, 50}, {20, 100}}, 100, 0.8);
  CHECK(svg.find("<line class=\"threshold\" x1=\"0\" x2=\"240\" y1=\"8.6\" y2=\"8.6\"") !=
        std::string::npos);
  CHECK(sparkline_svg({{0, 0}, {10, 50}}, 100).find("threshold") == std::string::npos);
}

TEST_CASE("a target pgpulse cannot read says why once, without empty sections") {
  SnapshotStore store;
  TargetHealth down;
  down.target = "main";
  down.up = false;
  down.last_error_reason = "refused";
  down.last_error = "connection to server at 10.0.0.5, port 5432 failed: Connection refused";
  for (const char* name : {"connections", "idle_trend", "long_queries", "locks", "rls"}) {
    CollectorHealth c;
    c.name = name;
    c.ran = true;
    c.last_error = down.last_error;
    down.collectors.push_back(c);
  }
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->target = "main";
  snapshot->collector = kHealthSnapshot;
  snapshot->details = make_details(down);
  store.publish(snapshot);
  // Offenders from before the outage: stale, not shown.
  LongQueriesDetails queries;
  queries.offenders = {Offender{}};
  auto stale = std::make_shared<Snapshot>();
  stale->target = "main";
  stale->collector = "long_queries";
  stale->details = make_details(queries);
  store.publish(stale);

  auto page = render_status_page(store.view(), 1'800'000'000);
  auto section = page.substr(page.find("<section id=\"target-main\""));
  CHECK(count_of(section, "Connection refused") == 1);  // in the runbook's first step
  CHECK(count_of(page, "Connection refused") == 2);     // and the summary row at the top
  CHECK(section.find("no data while pgpulse cannot read this server") != std::string::npos);
  CHECK(count_of(section, "the connection's (runbook step 1)") == 5);
  CHECK(page.find("<h3>Runbook</h3>") != std::string::npos);
  CHECK(page.find("<h3>Collectors</h3>") != std::string::npos);
  for (const char* empty : {"<h3>Saturation</h3>", "<h3>Top offenders</h3>",
                            "<h3>Top statements</h3>", "<h3>Row-level security</h3>"}) {
    CHECK(page.find(empty) == std::string::npos);
  }
}
