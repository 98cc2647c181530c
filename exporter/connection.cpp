#include "exporter/connection.hpp"

#include <boost/asio/post.hpp>

namespace pgpulse::exporter {

using namespace std::chrono_literals;

bool RateLimitedLog::due() {
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto last = last_.load();
  if (last != 0 && now - last < std::chrono::nanoseconds(60s).count()) return false;
  return last_.compare_exchange_strong(last, now);
}

std::shared_ptr<const AuthUsers> ServerState::users() const {
  std::lock_guard lock(users_mutex_);
  return users_;
}

void ServerState::set_users(std::map<std::string, std::string> hashes) {
  auto next = std::make_shared<AuthUsers>();
  next->dummy_hash = hashes.empty() ? users()->dummy_hash : hashes.begin()->second;
  next->hashes = std::move(hashes);
  {
    std::lock_guard lock(users_mutex_);
    users_ = std::move(next);
  }
  auth_cache.clear();
}

Connection::~Connection() {
  if (enrolled_) {
    std::lock_guard lock(state_.mutex);
    state_.connections.erase(slot_);
  }
  --state_.active;
}

bool Connection::claim_eviction(std::chrono::steady_clock::time_point now) {
  int expected = kWaiting;
  if (phase_.compare_exchange_strong(expected, kEvicted)) return true;
  // A stalled write. Should the write finish between these two loads, the connection may go on to
  // answer its next request while claimed: every step after a write checks for Evicted, and the
  // close queued behind it only ends a connection whose client had stopped reading anyway.
  auto progress = write_progress_.load();
  if (expected != kBusy || progress == 0) return false;
  auto stall = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      state_.limits.write_stall_timeout);
  if (now.time_since_epoch().count() - progress < stall.count()) return false;
  return phase_.compare_exchange_strong(expected, kEvicted);
}

void Connection::evict() {
  boost::asio::post(executor(), [self = shared_from_this()] { self->close_now(); });
}

void Connection::enroll() {
  std::lock_guard lock(state_.mutex);
  slot_ = state_.connections.insert(state_.connections.end(), this);
  enrolled_ = true;
}

bool Connection::become_busy() {
  int expected = kWaiting;
  return phase_.compare_exchange_strong(expected, kBusy);
}

bool Connection::become_waiting() {
  int expected = kBusy;
  return phase_.compare_exchange_strong(expected, kWaiting);
}

}  // namespace pgpulse::exporter
