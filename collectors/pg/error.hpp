#pragma once
// Errors from the libpq layer, classified the way on-call engineers triage them.
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pgpulse::pg {

using Millis = std::chrono::milliseconds;

enum class ErrorKind {
  Refused,             // nothing listens (server down, wrong port or socket)
  Timeout,             // connect or query deadline passed (server hung, network black hole)
  AuthFailed,          // password, pg_hba.conf, unknown role
  TooManyConnections,  // max_connections or a database's connection limit reached
  RoleConnectionLimit,  // the monitoring role's own CONNECTION LIMIT: pgpulse's problem, not
                        // an outage
  Terminated,          // the server ended the session: pg_terminate_backend, idle_session_timeout
  Interrupted,         // pgpulse is shutting down
  Query,               // the server answered with an SQL error; the connection still works
  Other,
};

// The `reason` label of pgpulse_connect_errors_total ("terminated" for a session the server
// ended, which is not a connect error).
std::string_view reason_label(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string sqlstate = {},
        bool connection_lost = false)
      : std::runtime_error(std::move(message)),
        kind_(kind),
        sqlstate_(std::move(sqlstate)),
        connection_lost_(connection_lost) {}
  ErrorKind kind() const { return kind_; }
  const std::string& sqlstate() const { return sqlstate_; }
  // True when the connection can no longer be used and must be re-established.
  bool connection_lost() const { return connection_lost_; }

 private:
  ErrorKind kind_;
  std::string sqlstate_;
  bool connection_lost_;
};

// Pure: libpq's connection failure text (no SQLSTATE is available before a session exists).
ErrorKind classify_connect_message(std::string_view message);
// Pure: an SQLSTATE from a query error.
ErrorKind classify_sqlstate(std::string_view sqlstate);

// Capped exponential backoff with jitter: failure n waits between half and all of
// min(cap, initial * 2^(n-1)); `jitter` is a uniform random number in [0, 1).
Millis backoff_delay(int failures, Millis initial, Millis cap, double jitter);

}  // namespace pgpulse::pg
