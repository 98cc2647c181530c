#include "daemon/target_runner.hpp"

namespace pgpulse::daemon {

TargetRunner::TargetRunner(config::TargetConfig target, const config::Config& config,
                           std::vector<ScheduledCollector> collectors, core::SnapshotStore& store)
    : store_(store),
      poller_(std::move(target), config, std::move(collectors), store, interrupter_) {}

TargetRunner::~TargetRunner() {
  stop();
}

void TargetRunner::start() {
  poller_.publish_health();
  thread_ = std::thread([this] { loop(); });
}

void TargetRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  interrupter_.trigger();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  store_.remove_target(poller_.target().name);
}

void TargetRunner::loop() {
  while (true) {
    poller_.poll(std::chrono::steady_clock::now());
    auto next = poller_.next_due();
    std::unique_lock lock(mutex_);
    if (stopping_) break;
    if (!next) {
      wake_.wait(lock, [this] { return stopping_; });
    } else {
      wake_.wait_until(lock, *next, [this] { return stopping_; });
    }
    if (stopping_) break;
  }
  poller_.disconnect();
}

}  // namespace pgpulse::daemon
