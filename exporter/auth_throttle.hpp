#pragma once
// Per-source throttling of basic-auth password checks. bcrypt is slow on purpose and runs on one
// thread with a bounded queue, so a flood of wrong passwords from one place would keep that queue
// full and turn Prometheus away with 503. Each source (an IPv4 address, or an IPv6 /64, which one
// host usually owns whole) may have only a few checks in flight, and a token bucket of failures:
// `failure_burst` wrong passwords, then one more attempt per `refill`. A success forgets the
// source. The table is bounded: when full, fully refilled sources go first, then the one seen
// least recently. Many sources (a botnet) can still fill the global queue; this bounds one source.
//
// Thread-safety: every member may be called from any thread (one mutex). Owns its table.
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace boost::asio::ip {
class address;
}

namespace pgpulse::exporter {

struct AuthThrottleLimits {
  std::size_t max_in_flight = 4;           // password checks queued or running per source
  std::size_t failure_burst = 10;          // wrong passwords before a source is slowed down
  std::chrono::milliseconds refill{1000};  // then one attempt per this
  std::size_t max_sources = 4096;
};

// The throttling key of a peer: the IPv4 address (also when IPv4-mapped), or the /64 of an IPv6.
std::string source_key(const boost::asio::ip::address& address);

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AuthThrottle(AuthThrottleLimits limits = {}) : limits_(limits) {}

  // Before queuing a password check for `source`: zero when admitted (finish() must follow),
  // otherwise how long the source should wait before trying again (for Retry-After).
  std::chrono::milliseconds admit(const std::string& source, Clock::time_point now);
  // The admitted check is done: `ok` when the password was right.
  void finish(const std::string& source, bool ok, Clock::time_point now);
  std::size_t tracked() const;

 private:
  struct Source {
    double tokens = 0;  // failures still allowed; refills up to failure_burst
    std::size_t in_flight = 0;
    Clock::time_point updated;
    std::list<std::string>::iterator order;  // in recency_, the most recent last
  };

  void refill(Source& source, Clock::time_point now) const;
  void touch(const std::string& key, Source& source, Clock::time_point now);
  void make_room(Clock::time_point now);
  void forget_if_clean(std::unordered_map<std::string, Source>::iterator it);

  AuthThrottleLimits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Source> sources_;
  std::list<std::string> recency_;  // least recently seen first
};

}  // namespace pgpulse::exporter
