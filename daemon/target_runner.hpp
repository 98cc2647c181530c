#pragma once
// One thread per target: it drives the target's TargetPoller, sleeping until the next collector
// is due. One target that hangs never delays another.
//
// Thread-safety: start() and stop() are called by the daemon's thread; the poller runs only on
// the runner's own thread. Ownership: owns the poller (and through it the collectors and the
// connection); borrows the snapshot store.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "collectors/pg/connection.hpp"
#include "config/config.hpp"
#include "core/snapshot_store.hpp"
#include "daemon/target_poller.hpp"

namespace pgpulse::daemon {

class TargetRunner {
 public:
  TargetRunner(config::TargetConfig target, const config::Config& config,
               std::vector<ScheduledCollector> collectors, core::SnapshotStore& store);
  ~TargetRunner();
  TargetRunner(const TargetRunner&) = delete;
  TargetRunner& operator=(const TargetRunner&) = delete;

  void start();
  // Interrupts any connect or query in flight, joins the thread and withdraws the target's
  // snapshots.
  void stop();
  const config::TargetConfig& target() const { return poller_.target(); }

 private:
  void loop();

  core::SnapshotStore& store_;
  pg::Interrupter interrupter_;  // before poller_, which borrows it
  TargetPoller poller_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgpulse::daemon
