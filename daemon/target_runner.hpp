#pragma once
// One target's two threads: the fast collectors' (TargetPoller, on the target's one connection)
// and the per-database visits' (DatabaseScanner, short-lived connections of its own), each
// sleeping until its next collector is due. One target that hangs never delays another, and a
// long scan never delays the target's own fast collectors.
//
// Thread-safety: start() and stop() are called by the daemon's thread; the poller and the scanner
// each run only on their own thread. Ownership: owns both (and through them the collectors and
// connections) and the target's health board; borrows the snapshot store.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "collectors/pg/connection.hpp"
#include "config/config.hpp"
#include "core/snapshot_store.hpp"
#include "daemon/database_scanner.hpp"
#include "daemon/health_board.hpp"
#include "daemon/target_poller.hpp"

namespace pgpulse::daemon {

class TargetRunner {
 public:
  TargetRunner(const config::TargetConfig& target, const config::Config& config,
               TargetCollectors collectors, core::SnapshotStore& store);
  ~TargetRunner();
  TargetRunner(const TargetRunner&) = delete;
  TargetRunner& operator=(const TargetRunner&) = delete;

  void start();
  // Interrupts any connect or query in flight, joins the threads and withdraws the target's
  // snapshots.
  void stop();
  const config::TargetConfig& target() const { return poller_.target(); }
  const std::vector<std::string>& linked() const { return poller_.linked(); }

 private:
  void poll_loop();
  void scan_loop();
  void wake_scanner();

  core::SnapshotStore& store_;
  pg::Interrupter interrupter_;  // before the board, poller and scanner, which borrow it
  HealthBoard board_;
  DatabaseScanner scanner_;
  TargetPoller poller_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread poll_thread_, scan_thread_;
};

}  // namespace pgpulse::daemon
