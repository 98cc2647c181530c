#include "daemon/target_connector.hpp"

#include "config/secret_file.hpp"

namespace pgpulse::daemon {

TargetConnector::TargetConnector(const config::TargetConfig& target, const config::Config& config)
    : password_file_(target.password_file) {
  options_.dsn = target.dsn;
  options_.connect_timeout = config.pg.connect_timeout;
  options_.statement_timeout = config.pg.statement_timeout;
  options_.session_settings = target.kind == config::TargetKind::Postgres;
}

pg::ConnectOptions TargetConnector::with_password() const {
  auto options = options_;
  if (!password_file_.empty()) {
    auto secret = config::read_secret_file(password_file_);
    if (!secret.error.empty()) throw pg::Error(pg::ErrorKind::AuthFailed, secret.error);
    options.password = secret.value;
  }
  return options;
}

pg::Connection TargetConnector::open(const pg::Interrupter& interrupter) const {
  return pg::Connection::open(with_password(), interrupter);
}

pg::Connection TargetConnector::open_database(const std::string& dbname,
                                              const pg::Interrupter& interrupter) const {
  auto options = with_password();
  if (!dbname.empty()) options.dbname = dbname;
  options.application_name = "pgpulse-catalog";
  return pg::Connection::open(options, interrupter);
}

}  // namespace pgpulse::daemon
