#pragma once
// Lock blocking from pg_blocking_pids(): who waits, for how long, who is at the root of each
// chain, and how deep the chains go. /activity shows the tree (root pid -> waiting pids).
#include <map>
#include <string>

#include "collectors/collector.hpp"
#include "config/config.hpp"
#include "core/details/locks.hpp"

namespace pgpulse::collectors {

// wait_started: pid -> pg_locks.waitstart (epoch seconds) for waiting backends; where missing
// (PostgreSQL 13 has no waitstart), the wait is measured from state_change. Blocked counts are
// per folded datname; the tree places each backend once, under the first of its blockers met.
struct LockSummary {
  std::map<std::string, long> blocked;  // datname -> backends waiting on a lock held by another
  core::LocksDetails details;
};

// Each node's sqlcommenter context is read from its raw text and linked with trace_url_template.
LockSummary summarize_locks(const ActivitySample& sample, const std::map<int, double>& wait_started,
                            std::size_t label_limit, std::size_t query_max_length,
                            const std::string& trace_url_template = "");
Families lock_families(const LockSummary& summary);

// PostgreSQL 14+ only (pg_locks.waitstart).
extern const char* const kLockWaitStartSql;
inline constexpr int kWaitStartMinVersion = 140000;

class LocksCollector : public Collector {
 public:
  explicit LocksCollector(const config::ActivityConfig& options,
                          const config::TracingConfig& tracing = {})
      : query_max_length_(static_cast<std::size_t>(options.query_max_length)),
        trace_url_template_(tracing.url_template) {}
  CollectorOutput collect(PollContext& context) override;

 private:
  std::size_t query_max_length_;
  std::string trace_url_template_;
};

}  // namespace pgpulse::collectors
