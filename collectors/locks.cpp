#include "collectors/locks.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "collectors/label_folding.hpp"
#include "collectors/query_text.hpp"

namespace pgpulse::collectors {

// Only asked when someone waits; waitstart exists from PostgreSQL 14.
const char* const kLockWaitStartSql = R"SQL(
SELECT pid, extract(epoch FROM min(waitstart))::float8
FROM pg_locks WHERE NOT granted AND waitstart IS NOT NULL GROUP BY pid)SQL";

namespace {

struct Graph {
  std::map<int, const ActivityRow*> rows;
  std::map<int, std::vector<int>> waiters;  // blocker pid -> pids it blocks
};

nlohmann::json node(const Graph& graph, int pid, int depth, std::set<int>& path, int& max_depth,
                    std::size_t query_max_length) {
  max_depth = std::max(max_depth, depth);
  nlohmann::json json{{"pid", pid}};
  if (auto it = graph.rows.find(pid); it != graph.rows.end()) {
    const auto& row = *it->second;
    json["datname"] = row.datname;
    json["usename"] = row.usename;
    json["application_name"] = row.application_name;
    json["state"] = row.state;
    json["backend_type"] = row.backend_type;
    json["query"] = normalize_query(row.query, query_max_length);
  }
  nlohmann::json children = nlohmann::json::array();
  if (auto it = graph.waiters.find(pid); it != graph.waiters.end()) {
    path.insert(pid);
    for (int waiter : it->second) {
      if (path.count(waiter)) continue;  // a deadlock cycle, until the server breaks it
      children.push_back(node(graph, waiter, depth + 1, path, max_depth, query_max_length));
    }
    path.erase(pid);
  }
  json["waiting"] = children;
  return json;
}

}  // namespace

LockSummary summarize_locks(const ActivitySample& sample, const std::map<int, double>& wait_started,
                            std::size_t label_limit, std::size_t query_max_length) {
  LockSummary summary;
  Graph graph;
  std::map<std::string, std::size_t> by_db;
  for (const auto& row : sample.rows) {
    graph.rows[row.pid] = &row;
    if (row.blocked_by.empty() || row.is_self) continue;
    ++by_db[row.datname];
    for (int blocker : row.blocked_by) graph.waiters[blocker].push_back(row.pid);
  }
  LabelFold db(by_db, label_limit);
  for (const auto& row : sample.rows) {
    if (row.blocked_by.empty() || row.is_self) continue;
    ++summary.blocked[db.apply(row.datname)];
    auto started = wait_started.find(row.pid);
    double since = started != wait_started.end() ? started->second : row.state_change;
    if (!std::isnan(since)) {
      summary.max_wait_seconds = std::max(summary.max_wait_seconds, sample.server_now - since);
    }
  }
  for (const auto& [blocker, waiters] : graph.waiters) {
    auto it = graph.rows.find(blocker);
    bool blocked_itself = it != graph.rows.end() && !it->second->blocked_by.empty();
    if (blocked_itself) continue;
    ++summary.root_blockers;
    std::set<int> path;
    summary.tree.push_back(node(graph, blocker, 0, path, summary.max_depth, query_max_length));
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
                       "Longest current lock wait (pg_locks.waitstart), 0 when nobody waits."),
             {}, s.max_wait_seconds);
  add_sample(add_gauge(families, "pgpulse_blocking_root_backends",
                       "Backends that block others and are not blocked themselves: the ones to "
                       "look at (or terminate)."),
             {}, static_cast<double>(s.root_blockers));
  add_sample(add_gauge(families, "pgpulse_lock_chain_max_depth",
                       "Longest blocking chain: 1 when waiters wait directly on a root blocker."),
             {}, static_cast<double>(s.max_depth));
  return families;
}

CollectorOutput LocksCollector::collect(PollContext& context) {
  const auto& sample = context.activity();
  std::map<int, double> wait_started;
  bool anyone_waits = std::any_of(sample.rows.begin(), sample.rows.end(),
                                  [](const ActivityRow& row) { return !row.blocked_by.empty(); });
  if (anyone_waits) {
    auto result = context.query(kLockWaitStartSql);
    for (int r = 0; r < result.rows(); ++r) {
      wait_started[static_cast<int>(result.integer(r, 0))] = result.number(r, 1);
    }
  }
  auto summary = summarize_locks(sample, wait_started, context.label_limit(), query_max_length_);
  long blocked = 0;
  for (const auto& [datname, count] : summary.blocked) blocked += count;
  return CollectorOutput{lock_families(summary),
                         {{"blocked", blocked},
                          {"root_blockers", summary.root_blockers},
                          {"max_wait_seconds", summary.max_wait_seconds},
                          {"max_depth", summary.max_depth},
                          {"blocking_tree", summary.tree}}};
}

}  // namespace pgpulse::collectors
