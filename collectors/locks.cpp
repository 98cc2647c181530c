#include "collectors/locks.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "collectors/query_text.hpp"
#include "collectors/sqlcommenter.hpp"
#include "core/label_folding.hpp"

namespace pgpulse::collectors {

// Only asked when someone waits.
const char* const kLockWaitStartSql = R"SQL(
SELECT pid, date_part('epoch', min(waitstart)) AS waitstart
FROM pg_locks WHERE NOT granted AND waitstart IS NOT NULL GROUP BY pid)SQL";

namespace {

struct Graph {
  std::map<int, const ActivityRow*> rows;
  std::map<int, std::vector<int>> waiters;  // blocker pid -> pids it blocks
};

// Places `pid` and, recursively, the backends waiting on it. `placed` spans the whole forest: a
// backend waiting on two blockers (or on a member of a deadlock cycle) appears once, so the tree
// and the depth count each backend once.
struct NodeText {
  std::size_t query_max_length;
  const std::string& trace_url_template;
};

core::BlockingNode node(const Graph& graph, int pid, int depth, std::set<int>& placed,
                        int& max_depth, const NodeText& text) {
  max_depth = std::max(max_depth, depth);
  placed.insert(pid);
  core::BlockingNode out;
  out.pid = pid;
  if (auto it = graph.rows.find(pid); it != graph.rows.end()) {
    const auto& row = *it->second;
    out.datname = row.datname;
    out.usename = row.usename;
    out.application_name = row.application_name;
    out.state = row.state;
    out.backend_type = row.backend_type;
    out.trace = trace_context(row.query, text.trace_url_template);  // before normalising
    out.query = normalize_query(row.query, text.query_max_length);
  }
  if (auto it = graph.waiters.find(pid); it != graph.waiters.end()) {
    for (int waiter : it->second) {
      if (placed.count(waiter)) continue;
      out.waiting.push_back(node(graph, waiter, depth + 1, placed, max_depth, text));
    }
  }
  return out;
}

}  // namespace

LockSummary summarize_locks(const ActivitySample& sample, const std::map<int, double>& wait_started,
                            std::size_t label_limit, std::size_t query_max_length,
                            const std::string& trace_url_template) {
  LockSummary summary;
  auto& details = summary.details;
  Graph graph;
  std::map<std::string, std::size_t> by_db;
  for (const auto& row : sample.rows) {
    graph.rows[row.pid] = &row;
    if (row.blocked_by.empty() || row.is_self) continue;
    ++by_db[row.datname];
    for (int blocker : row.blocked_by) graph.waiters[blocker].push_back(row.pid);
  }
  core::LabelFold db(by_db, label_limit);
  for (const auto& row : sample.rows) {
    if (row.blocked_by.empty() || row.is_self) continue;
    ++summary.blocked[db.apply(row.datname)];
    ++details.blocked;
    auto started = wait_started.find(row.pid);
    double since = started != wait_started.end() ? started->second : row.state_change;
    if (!std::isnan(since)) {
      details.max_wait_seconds = std::max(details.max_wait_seconds, sample.server_now - since);
    }
  }
  std::set<int> placed;
  NodeText text{query_max_length, trace_url_template};
  for (const auto& [blocker, waiters] : graph.waiters) {
    auto it = graph.rows.find(blocker);
    bool blocked_itself = it != graph.rows.end() && !it->second->blocked_by.empty();
    if (blocked_itself) continue;
    ++details.root_blockers;
    details.blocking_tree.push_back(node(graph, blocker, 0, placed, details.max_depth, text));
  }
  return summary;
}

Families lock_families(const LockSummary& s) {
  Families families;
  auto& blocked = add_gauge(families, "pgpulse_blocked_backends",
                            "Backends waiting on a lock held by another backend "
                            "(pg_blocking_pids).");
  for (const auto& [datname, count] : s.blocked) {
    add_sample(blocked, {{"datname", datname}}, static_cast<double>(count));
  }
  add_sample(add_gauge(families, "pgpulse_lock_wait_max_seconds",
                       "Longest current lock wait, 0 when nobody waits: from pg_locks.waitstart "
                       "on PostgreSQL 14+, from the waiting query's state_change on 13."),
             {}, s.details.max_wait_seconds);
  add_sample(add_gauge(families, "pgpulse_blocking_root_backends",
                       "Backends that block others and are not blocked themselves: the ones to "
                       "look at (or terminate)."),
             {}, static_cast<double>(s.details.root_blockers));
  add_sample(add_gauge(families, "pgpulse_lock_chain_max_depth",
                       "Longest blocking chain, each backend counted once: 1 when waiters wait "
                       "directly on a root blocker."),
             {}, static_cast<double>(s.details.max_depth));
  return families;
}

CollectorOutput LocksCollector::collect(PollContext& context) {
  const auto& sample = context.activity();
  std::map<int, double> wait_started;
  bool anyone_waits = std::any_of(sample.rows.begin(), sample.rows.end(),
                                  [](const ActivityRow& row) { return !row.blocked_by.empty(); });
  bool has_waitstart = context.server_version() >= kWaitStartMinVersion;
  if (anyone_waits && has_waitstart) {
    auto result = context.query(kLockWaitStartSql);
    int pid = result.column_index("pid"), started = result.column_index("waitstart");
    for (int r = 0; r < result.rows(); ++r) {
      wait_started[static_cast<int>(result.integer(r, pid))] = result.number(r, started);
    }
  }
  auto summary = summarize_locks(sample, wait_started, context.label_limit(), query_max_length_,
                                 trace_url_template_);
  summary.details.wait_measured_from = has_waitstart ? "waitstart" : "state_change";
  auto families = lock_families(summary);
  return CollectorOutput{std::move(families), core::make_details(std::move(summary.details))};
}

}  // namespace pgpulse::collectors
