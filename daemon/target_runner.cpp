#include "daemon/target_runner.hpp"

namespace pgpulse::daemon {

TargetRunner::TargetRunner(const config::TargetConfig& target, const config::Config& config,
                           TargetCollectors collectors, core::SnapshotStore& store)
    : store_(store),
      board_(initial_health(target, collectors), store),
      scanner_(target, config, std::move(collectors.per_database), store, board_, interrupter_),
      poller_(target, config, std::move(collectors.fast), store, board_, interrupter_,
              PollerHooks{[this] {
                            scanner_.request_scan();
                            wake_scanner();
                          },
                          [this] { scanner_.drop_data(); },
                          [this] {
                            scanner_.request_scan();
                            wake_scanner();
                          }}) {}

TargetRunner::~TargetRunner() {
  stop();
}

void TargetRunner::start() {
  board_.update([](core::TargetHealth&) {});  // the target is listed before its first poll
  poll_thread_ = std::thread([this] { poll_loop(); });
  if (!scanner_.empty()) scan_thread_ = std::thread([this] { scan_loop(); });
}

void TargetRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !poll_thread_.joinable() && !scan_thread_.joinable()) return;
    stopping_ = true;
  }
  interrupter_.trigger();
  wake_.notify_all();
  if (poll_thread_.joinable()) poll_thread_.join();
  if (scan_thread_.joinable()) scan_thread_.join();
  store_.remove_target(poller_.target().name);
}

void TargetRunner::wake_scanner() {
  std::lock_guard lock(mutex_);  // so the wake cannot fall between the scanner's check and wait
  wake_.notify_all();
}

void TargetRunner::poll_loop() {
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

void TargetRunner::scan_loop() {
  // The first scan waits for the poller's first connection (which requests it), so a target that
  // is down at start is scanned as soon as it answers, not one scan interval later.
  while (true) {
    {
      std::unique_lock lock(mutex_);
      auto next = scanner_.next_due();
      auto ready = [&] { return stopping_ || scanner_.scan_requested(); };
      if (next && !scanner_.scan_requested()) {
        wake_.wait_until(lock, *next, ready);
      } else if (!next) {
        wake_.wait(lock, ready);
      }
      if (stopping_) break;
    }
    scanner_.scan(std::chrono::steady_clock::now());
  }
}

}  // namespace pgpulse::daemon
