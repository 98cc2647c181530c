#include "collectors/pg/error.hpp"

#include <algorithm>
#include <array>

namespace pgpulse::pg {

std::string_view reason_label(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Refused:
      return "refused";
    case ErrorKind::Timeout:
      return "timeout";
    case ErrorKind::AuthFailed:
      return "auth_failed";
    case ErrorKind::TooManyConnections:
      return "too_many_connections";
    case ErrorKind::RoleConnectionLimit:
      return "role_connection_limit";
    case ErrorKind::Terminated:
      return "terminated";
    case ErrorKind::Interrupted:
    case ErrorKind::Query:
    case ErrorKind::Other:
      break;
  }
  return "other";
}

namespace {
bool contains_any(std::string_view text, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(), [&](std::string_view needle) {
    return text.find(needle) != std::string_view::npos;
  });
}
}  // namespace

ErrorKind classify_connect_message(std::string_view message) {
  // Order matters: "too many clients" arrives as a FATAL from a reachable server, so check the
  // server's own verdicts before socket-level failures.
  if (contains_any(message, {"too many connections for role"})) {
    return ErrorKind::RoleConnectionLimit;
  }
  // PgBouncer's own refusals (src/client.c) are classified as the server's.
  if (contains_any(message,
                   {"too many clients", "remaining connection slots are reserved",
                    "too many connections for", "no more connections allowed (max_client_conn)"})) {
    return ErrorKind::TooManyConnections;
  }
  if (contains_any(message, {"password authentication failed", "authentication failed",
                             "no pg_hba.conf entry", "password is required", "no password supplied",
                             "role \"", "pg_hba.conf rejects", "FATAL:  no such user",
                             "FATAL:  not allowed", "FATAL:  login rejected"})) {
    return ErrorKind::AuthFailed;
  }
  // "canceling statement due to lock timeout": the startup waited on a catalog lock (VACUUM FULL
  // or REINDEX of pg_class) for longer than the lock_timeout sent in the startup packet.
  if (contains_any(message,
                   {"timeout expired", "timed out", "Connection timed out", "lock timeout"})) {
    return ErrorKind::Timeout;
  }
  if (contains_any(message, {"Connection refused", "No such file or directory",
                             "could not connect to server", "Is the server running"})) {
    return ErrorKind::Refused;
  }
  return ErrorKind::Other;
}

ErrorKind classify_sqlstate(std::string_view sqlstate) {
  if (sqlstate == "53300") return ErrorKind::TooManyConnections;
  if (sqlstate == "28P01" || sqlstate == "28000") return ErrorKind::AuthFailed;
  if (sqlstate == "57014" || sqlstate == "55P03") return ErrorKind::Timeout;  // statement or lock
  // 57P01 admin_shutdown is both pg_terminate_backend() and a server stopping in fast mode: the
  // session ended, the server may be fine. 57P05 is idle_session_timeout (PostgreSQL 14+).
  if (sqlstate == "57P01" || sqlstate == "57P05") return ErrorKind::Terminated;
  if (sqlstate.substr(0, 2) == "08" || sqlstate == "57P02" || sqlstate == "57P03") {
    return ErrorKind::Refused;  // connection exception or server shutting down
  }
  return ErrorKind::Query;
}

Millis backoff_delay(int failures, Millis initial, Millis cap, double jitter) {
  if (failures <= 0) return Millis{0};
  auto delay = initial;
  for (int i = 1; i < failures && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  jitter = std::clamp(jitter, 0.0, 1.0);
  return Millis{delay.count() / 2 + static_cast<long long>(jitter * (delay.count() / 2))};
}

}  // namespace pgpulse::pg
