#pragma once
// Lock blocking from pg_blocking_pids(): who waits, for how long, who is at the root of each
// chain, and how deep the chains go. /activity shows the tree (root pid -> waiting pids).
#include <map>
#include <string>

#include "collectors/collector.hpp"

namespace pgpulse::collectors {

struct LockSummary {
  std::map<std::string, long> blocked;  // datname -> backends waiting on a lock held by another
  double max_wait_seconds = 0;
  long root_blockers = 0;  // blockers that are not blocked themselves
  int max_depth = 0;       // 1: waiter -> root; 2: waiter -> waiter -> root; ...
  nlohmann::json tree = nlohmann::json::array();
};

// wait_started: pid -> pg_locks.waitstart (epoch seconds) for waiting backends; where missing,
// the wait is measured from state_change.
LockSummary summarize_locks(const ActivitySample& sample, const std::map<int, double>& wait_started,
                            std::size_t label_limit, std::size_t query_max_length);
Families lock_families(const LockSummary& summary);

extern const char* const kLockWaitStartSql;

class LocksCollector : public Collector {
 public:
  explicit LocksCollector(std::size_t query_max_length) : query_max_length_(query_max_length) {}
  CollectorOutput collect(PollContext& context) override;

 private:
  std::size_t query_max_length_;
};

}  // namespace pgpulse::collectors
