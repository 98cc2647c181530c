#pragma once
// One target's per-database visits: every scan interval, the due per-database collectors
// (collectors/database_collector.hpp) get one visit per database, one database at a time, each on
// a short-lived connection of the scanner's own (`pgpulse-catalog`), on a thread beside the fast
// collectors' — so a 300-database scan never delays them. With the target's own connection that
// is never more than two connections, and one during `pgpulse check`'s scan.
//
// A database that cannot be read is handed to the collectors as failed, with the reason. One
// that timed out (a locked pg_class: VACUUM FULL or REINDEX of it) is backed off for 1, 2, 4 ...
// up to 12 scans instead of being retried every scan, and no database is visited while the
// role's connection limit leaves no slot for the visit.
//
// Thread-safety: scan() and scan_all() run on one thread; request_scan() and due_now() may be
// called from any thread. Ownership: owns its collectors; borrows the store, the health board
// and the interrupter.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collectors/database_collector.hpp"
#include "config/config.hpp"
#include "core/snapshot_store.hpp"
#include "daemon/health_board.hpp"
#include "daemon/target_connector.hpp"

namespace pgpulse::daemon {

using SteadyTime = std::chrono::steady_clock::time_point;

struct ScheduledDatabaseCollector {
  std::string name;
  std::unique_ptr<collectors::DatabaseCollector> collector;
  config::Millis interval;
  SteadyTime next_due{};
};

// How long a database that timed out is left alone, in scans: 1, 2, 4, 8, then 12.
int backoff_scans(int consecutive_timeouts);

// Databases to visit and what the role may still open, read on the home visit.
extern const char* const kScanPlanSql;

class DatabaseScanner {
 public:
  DatabaseScanner(const config::TargetConfig& target, const config::Config& config,
                  std::vector<ScheduledDatabaseCollector> collectors, core::SnapshotStore& store,
                  HealthBoard& board, const pg::Interrupter& interrupter);

  // Runs the due collectors' scan (every collector when a scan was requested).
  void scan(SteadyTime now);
  void scan_all();
  // When the next scan is due: now when one was requested, nullopt before the first request.
  std::optional<SteadyTime> next_due() const;
  // The target's connection came back (every collector runs at first connect) or was lost (its
  // data is dropped now, and everything is scanned again at the next chance).
  void request_scan() { requested_ = true; }
  bool scan_requested() const { return requested_; }
  void drop_data();
  bool empty() const { return collectors_.empty(); }

 private:
  struct Backoff {
    int consecutive_timeouts = 0;
    int scans_to_skip = 0;
    std::string last_error;
  };
  struct Plan {
    std::string home;                     // current_database() of the home visit
    std::vector<std::string> databases;   // connectable, not templates, sorted
    std::optional<long> role_slots_left;  // nullopt: the role has no connection limit
  };
  void run(const std::vector<ScheduledDatabaseCollector*>& due);
  Plan read_plan(collectors::VisitContext& home);
  void visit(const std::vector<ScheduledDatabaseCollector*>& due,
             collectors::VisitContext& context);
  void fail(const std::vector<ScheduledDatabaseCollector*>& collectors, const std::string& error);
  void publish(ScheduledDatabaseCollector& scheduled, collectors::CollectorOutput output,
               double duration_seconds);

  std::string target_name_;
  TargetConnector connector_;
  std::size_t label_limit_;
  std::vector<ScheduledDatabaseCollector> collectors_;
  core::SnapshotStore& store_;
  HealthBoard& board_;
  const pg::Interrupter& interrupter_;
  std::map<std::string, Backoff> backoff_;
  std::atomic<bool> requested_{false};
};

}  // namespace pgpulse::daemon
