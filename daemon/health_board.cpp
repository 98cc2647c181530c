#include "daemon/health_board.hpp"

#include <stdexcept>

namespace pgpulse::daemon {

void HealthBoard::update(const std::function<void(core::TargetHealth&)>& change) {
  auto snapshot = std::make_shared<core::Snapshot>();
  {
    std::lock_guard lock(mutex_);
    change(health_);
    snapshot->target = health_.target;
    snapshot->collector = core::kHealthSnapshot;
    snapshot->taken_at = std::chrono::system_clock::now();
    snapshot->families = core::render_families(health_.target, health_families(health_));
    snapshot->details = core::make_details(health_);
    // Published under the lock, so two threads' updates reach the store in the order they made.
    store_.publish(std::move(snapshot));
  }
}

core::TargetHealth HealthBoard::copy() const {
  std::lock_guard lock(mutex_);
  return health_;
}

core::CollectorHealth& HealthBoard::collector(core::TargetHealth& health, const std::string& name) {
  for (auto& c : health.collectors) {
    if (c.name == name) return c;
  }
  throw std::logic_error("unknown collector " + name);
}

}  // namespace pgpulse::daemon
