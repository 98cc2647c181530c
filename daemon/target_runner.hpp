#pragma once
// One thread per target: it owns the target's single connection and runs the target's collectors
// one after another on it, each on its own interval. Publishes snapshots and the target's health.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/pg/connection.hpp"
#include "collectors/snapshot_store.hpp"
#include "collectors/target_health.hpp"
#include "config/config.hpp"

namespace pgpulse::daemon {

struct ScheduledCollector {
  std::string name;
  std::unique_ptr<collectors::Collector> collector;
  config::Millis interval;
  std::chrono::steady_clock::time_point next_due{};
};

class TargetRunner {
 public:
  TargetRunner(config::TargetConfig target, const config::Config& config,
               std::vector<ScheduledCollector> collectors, collectors::SnapshotStore& store);
  ~TargetRunner();
  TargetRunner(const TargetRunner&) = delete;
  TargetRunner& operator=(const TargetRunner&) = delete;

  void start();
  // Interrupts any connect or query in flight, joins the thread and withdraws the target's
  // snapshots.
  void stop();
  const config::TargetConfig& target() const { return target_; }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  void loop();
  void tick(SteadyTime now);
  bool ensure_connected(SteadyTime now);
  void run_collector(ScheduledCollector& scheduled, collectors::PollContext& context);
  void fail_collector(ScheduledCollector& scheduled, const std::string& error);
  void note_connection_lost(const pg::Error& error);
  collectors::CollectorHealth& health_of(const std::string& name);
  void publish_health();

  config::TargetConfig target_;
  pg::ConnectOptions options_;
  std::size_t label_limit_;
  config::Millis backoff_cap_;
  std::vector<ScheduledCollector> collectors_;
  collectors::SnapshotStore& store_;

  pg::Interrupter interrupter_;
  std::optional<pg::Connection> connection_;
  int connect_failures_ = 0;
  SteadyTime next_connect_{};
  std::mt19937 random_{std::random_device{}()};
  collectors::TargetHealth health_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgpulse::daemon
