#pragma once
// Owns the running targets: builds each target's collectors from the registry, starts and stops
// their runners, and applies a reloaded config with as little disruption as it can.
//
// Thread-safety: used from the main thread only. Ownership: owns the runners; borrows the store.
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "core/snapshot_store.hpp"
#include "daemon/target_runner.hpp"

namespace pgpulse::daemon {

class Daemon {
 public:
  explicit Daemon(core::SnapshotStore& store) : store_(store) {}
  ~Daemon() { stop(); }

  // First call starts everything; later calls (SIGHUP) restart only what changed.
  void apply(const config::Config& config);
  void stop();
  // Process-wide series: pgpulse_build_info and the state of the last reload.
  void publish_process_metrics(bool last_reload_ok, double last_reload_success_unix);

 private:
  std::unique_ptr<TargetRunner> make_runner(const config::TargetConfig& target,
                                            const config::Config& config);

  core::SnapshotStore& store_;
  std::vector<std::unique_ptr<TargetRunner>> runners_;
  std::unique_ptr<config::Config> current_;
};

}  // namespace pgpulse::daemon
