#pragma once
// How pgpulse reaches one target, written once for the daemon and `pgpulse check`: connect
// options from the config, the password file read again at every attempt (a rotated secret is
// picked up without a restart), and the short per-database connections of catalog scans.
//
// Thread-safety: immutable after construction; open() and open_database() may be called from any
// thread.
#include <string>

#include "collectors/pg/connection.hpp"
#include "config/config.hpp"

namespace pgpulse::daemon {

class TargetConnector {
 public:
  TargetConnector(const config::TargetConfig& target, const config::Config& config);

  // The target's own connection. Throws pg::Error, classified (refused, timeout, auth_failed,
  // too_many_connections, other).
  pg::Connection open(const pg::Interrupter& interrupter) const;
  // A visit to one database of the same server ("": the DSN's own), with the same credentials
  // and timeouts, named "pgpulse-catalog" in pg_stat_activity.
  pg::Connection open_database(const std::string& dbname, const pg::Interrupter& interrupter) const;

 private:
  pg::ConnectOptions with_password() const;

  pg::ConnectOptions options_;
  std::string password_file_;
};

}  // namespace pgpulse::daemon
