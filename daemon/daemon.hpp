#pragma once
// Owns the running targets: builds each target's collectors from the registry, starts and stops
// their runners, and applies a reloaded config with as little disruption as it can.
//
// Thread-safety: used from the main thread only (a timer thread of its own refreshes the process
// metrics). Ownership: owns the runners and that thread; borrows the store.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "core/snapshot_store.hpp"
#include "daemon/target_runner.hpp"

namespace pgpulse::daemon {

class Daemon {
 public:
  // The process metrics are read again every process_refresh (and at every reload).
  explicit Daemon(core::SnapshotStore& store,
                  std::chrono::milliseconds process_refresh = std::chrono::seconds(5))
      : store_(store), process_refresh_(process_refresh) {}
  ~Daemon() { stop(); }

  // First call starts everything; later calls (SIGHUP) restart only what changed.
  void apply(const config::Config& config);
  void stop();
  // Process-wide series: pgpulse_build_info, the state of the last reload and process_* (see
  // daemon/process_metrics.hpp), published now and then every process_refresh until stop().
  void publish_process_metrics(bool last_reload_ok, double last_reload_success_unix);

 private:
  void publish_process_snapshot();  // with process_mutex_ held
  void refresh_process_metrics(const std::stop_token& stop);

  std::unique_ptr<TargetRunner> make_runner(const config::TargetConfig& target,
                                            const config::Config& config);

  core::SnapshotStore& store_;
  std::vector<std::unique_ptr<TargetRunner>> runners_;
  std::unique_ptr<config::Config> current_;

  std::chrono::milliseconds process_refresh_;
  std::mutex process_mutex_;
  std::condition_variable_any process_wakeup_;
  bool last_reload_ok_ = true;
  double last_reload_success_unix_ = 0;
  std::jthread process_refresher_;  // last: stopped and joined before the members it reads
};

}  // namespace pgpulse::daemon
