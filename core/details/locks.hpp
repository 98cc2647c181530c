#pragma once
// What the locks collector tells its readers: who waits, for how long, and the blocking tree
// (each root blocker with the backends waiting on it, recursively).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/details/trace.hpp"

namespace pgpulse::core {

struct BlockingNode {
  int pid = 0;
  std::string datname, usename, application_name, state, backend_type, query;
  TraceContext trace;  // from a sqlcommenter comment in the query text; fields "" without one
  std::vector<BlockingNode> waiting;
};

struct LocksDetails {
  long blocked = 0;
  long root_blockers = 0;
  double max_wait_seconds = 0;
  // "waitstart" (pg_locks.waitstart, PostgreSQL 14+) or "state_change" (13: the waiting query's
  // last state change, which is when it started, so an upper bound of the wait).
  std::string wait_measured_from = "waitstart";
  int max_depth = 0;
  std::vector<BlockingNode> blocking_tree;
};

void to_json(nlohmann::json& out, const BlockingNode& node);
void from_json(const nlohmann::json& in, BlockingNode& node);
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LocksDetails, blocked, root_blockers, max_wait_seconds,
                                   wait_measured_from, max_depth, blocking_tree)

inline void to_json(nlohmann::json& out, const BlockingNode& node) {
  out = {{"pid", node.pid},         {"datname", node.datname},
         {"usename", node.usename}, {"application_name", node.application_name},
         {"state", node.state},     {"backend_type", node.backend_type},
         {"query", node.query},     {"trace", node.trace},
         {"waiting", node.waiting}};
}

inline void from_json(const nlohmann::json& in, BlockingNode& node) {
  in.at("pid").get_to(node.pid);
  in.at("datname").get_to(node.datname);
  in.at("usename").get_to(node.usename);
  in.at("application_name").get_to(node.application_name);
  in.at("state").get_to(node.state);
  in.at("backend_type").get_to(node.backend_type);
  in.at("query").get_to(node.query);
  in.at("trace").get_to(node.trace);
  in.at("waiting").get_to(node.waiting);
}

}  // namespace pgpulse::core
