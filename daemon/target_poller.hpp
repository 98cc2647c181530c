#pragma once
// One target's fast collectors, without a thread of their own: keeps the target's single
// connection (reconnecting with capped, jittered backoff), asks every collector whether it
// applies at each (re)connect, runs the due ones on the shared tick, and publishes their
// snapshots and the target's health. The daemon's TargetRunner drives it from a thread; `pgpulse
// check` calls poll_all() once, so both report the same reasons from the same code.
// Per-database collectors run in the DatabaseScanner; the hooks tell it when the connection
// comes and goes.
//
// Thread-safety: not thread-safe; one thread calls it. Ownership: owns its collectors and its
// connection; borrows the store, the health board and the interrupter, which outlive it.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/pg/connection.hpp"
#include "config/config.hpp"
#include "core/snapshot_store.hpp"
#include "core/target_health.hpp"
#include "daemon/database_scanner.hpp"
#include "daemon/health_board.hpp"
#include "daemon/target_connector.hpp"

namespace pgpulse::daemon {

struct ScheduledCollector {
  std::string name;
  std::unique_ptr<collectors::Collector> collector;
  config::Millis interval;
  SteadyTime next_due{};
};

struct TargetCollectors {
  std::vector<ScheduledCollector> fast;                  // on the target's connection
  std::vector<ScheduledDatabaseCollector> per_database;  // on the scanner's visits
};

// The enabled collectors of the registry that serve the target's kind, each built from its config.
TargetCollectors collectors_for(const config::TargetConfig& target, const config::Config& config);
// The target's health before anything ran: every collector listed, with its interval.
core::TargetHealth initial_health(const config::TargetConfig& target,
                                  const TargetCollectors& collectors);

struct PollerHooks {
  std::function<void()> connected;        // a new connection is open (not at every tick)
  std::function<void()> connection_lost;  // it was lost, or a connect failed
  std::function<void()> scan_wanted;      // a collector saw what the per-database visits read
};

class TargetPoller {
 public:
  TargetPoller(config::TargetConfig target, const config::Config& config,
               std::vector<ScheduledCollector> collectors, core::SnapshotStore& store,
               HealthBoard& board, const pg::Interrupter& interrupter, PollerHooks hooks = {});

  // Runs the collectors due at `now`; when the connection is (re)established, every collector
  // is due at once (a new connection has no data yet).
  void poll(SteadyTime now);
  // Runs every collector once, now: `pgpulse check`.
  void poll_all();
  // When the next collector is due; nullopt without collectors.
  std::optional<SteadyTime> next_due() const;
  void disconnect() { connection_.reset(); }
  const config::TargetConfig& target() const { return target_; }
  // The targets whose published snapshots this one's collectors read (targets[].server links).
  const std::vector<std::string>& linked() const { return linked_; }

 private:
  void run_due(const std::vector<ScheduledCollector*>& due);
  bool ensure_connected(SteadyTime now);
  void assess_applicability(collectors::PollContext& context);
  void run_collector(ScheduledCollector& scheduled, collectors::PollContext& context);
  void fail_collector(core::TargetHealth& health, ScheduledCollector& scheduled,
                      const std::string& error);
  void note_connection_lost(const pg::Error& error);

  config::TargetConfig target_;
  std::vector<std::string> linked_;
  TargetConnector connector_;
  std::size_t label_limit_;
  config::Millis backoff_cap_;
  std::vector<ScheduledCollector> collectors_;
  core::SnapshotStore& store_;
  HealthBoard& board_;
  const pg::Interrupter& interrupter_;
  PollerHooks hooks_;

  std::optional<pg::Connection> connection_;
  bool fresh_connection_ = false;  // applicability not yet asked on this connection
  int connect_failures_ = 0;
  SteadyTime next_connect_{};
  std::mt19937 random_{std::random_device{}()};
  // Owned by this thread, mirrored into the board: whether up, and the last connect error.
  bool up_ = false;
  bool connected_once_ = false;
  std::string last_error_, last_error_reason_;
};

}  // namespace pgpulse::daemon
