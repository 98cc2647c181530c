#pragma once
// Internal to the HTTP server (http_server.cpp, http_session.cpp): the state every connection
// shares with the acceptor, and the base of every connection, which the acceptor may evict when
// the connection limit is reached.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "exporter/auth_cache.hpp"
#include "exporter/http_server.hpp"
#include "exporter/tls_contexts.hpp"

namespace pgpulse::exporter {

// Logs at most once a minute per instance: an attacker must not be able to flood the log.
// Thread-safety: due() may be called from any thread (lock-free).
class RateLimitedLog {
 public:
  bool due();

 private:
  std::atomic<std::chrono::steady_clock::rep> last_{0};
};

class Connection;

// The basic-auth users, replaced whole by a reload and read as one snapshot per request.
struct AuthUsers {
  std::map<std::string, std::string> hashes;  // name -> bcrypt; empty: no basic auth
  std::string dummy_hash;  // bcrypt for unknown users too, so timing does not reveal names
};

// What every connection needs. Owned by HttpServer's Impl and outliving every connection (the
// I/O threads and the password pool are joined before it goes). Thread-safety: the atomics,
// auth_cache, throttle, users() and set_users() from any thread; `connections` under `mutex`;
// the rest is set before start() and read-only after.
struct ServerState {
  std::shared_ptr<const AuthUsers> users() const;
  // Swaps the users in (requests already past their lookup finish with the old ones) and clears
  // the auth cache, so that nothing verified against the old users is served from it.
  void set_users(std::map<std::string, std::string> hashes);

  HttpHandler handler;
  HttpLimits limits;
  std::optional<TlsContexts> tls;
  AuthCache auth_cache;
  std::optional<AuthThrottle> throttle;  // from limits.password_throttle
  boost::asio::thread_pool* auth_pool = nullptr;
  std::atomic<std::size_t> pending_checks{0};
  std::atomic<std::size_t> password_checks{0};  // bcrypt verifications run, for tests
  std::atomic<std::size_t> active{0};
  std::mutex mutex;
  std::list<Connection*> connections;  // in accept order: the oldest first
  RateLimitedLog busy_log, throttle_log;

 private:
  mutable std::mutex users_mutex_;
  std::shared_ptr<const AuthUsers> users_ = std::make_shared<const AuthUsers>();
};

// A connection is Waiting for its client (TLS handshake, request bytes, a password check, or the
// client's close_notify) and may then be evicted; Busy while answering; Evicted once the acceptor
// claimed it, its close on the way. A Busy connection whose response write has made no progress
// for limits.write_stall_timeout is waiting on its client too (one that does not read), and may
// be evicted as well. Owned by the shared_ptrs in its own pending handlers; enrolled in
// ServerState::connections by a raw pointer that its destructor removes.
// Thread-safety: claim_eviction() and evict() from the acceptor; everything else on the
// connection's strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(ServerState& state) : state_(state) { ++state_.active; }
  virtual ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  virtual void run() = 0;

  // Called by the acceptor under state.mutex; never blocks and never drops the last reference
  // (that would re-enter the mutex from the destructor).
  bool claim_eviction(std::chrono::steady_clock::time_point now);
  void evict();  // after a successful claim: closes on the connection's strand

 protected:
  void enroll();
  bool become_busy();     // Waiting -> Busy; false when the acceptor evicted it first
  bool become_waiting();  // Busy -> Waiting; false when evicted
  bool evicted() const { return phase_.load() == kEvicted; }
  // Around a response write: its progress is what tells a slow reader from one that stopped.
  void write_started() {
    write_progress_ = std::chrono::steady_clock::now().time_since_epoch().count();
  }
  void write_progressed() { write_started(); }
  void write_ended() { write_progress_ = 0; }

  virtual boost::asio::any_io_executor executor() = 0;
  virtual void close_now() = 0;  // on the connection's strand

  ServerState& state_;

 private:
  enum Phase : int { kWaiting, kBusy, kEvicted };
  std::atomic<int> phase_{kWaiting};
  std::atomic<std::chrono::steady_clock::rep> write_progress_{0};  // 0: not writing
  std::list<Connection*>::iterator slot_;
  bool enrolled_ = false;
};

}  // namespace pgpulse::exporter
