#pragma once
// A libpq connection string (key=value or postgres:// URI) parsed without libpq, so config
// validation, redaction and target naming never need a connection. Parsing never echoes the input
// in errors: a DSN may carry a password.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgpulse::config {

struct DsnParam {
  std::string key;
  std::string value;
  bool operator==(const DsnParam&) const = default;
};

struct ParsedDsn {
  std::vector<DsnParam>
      params;  // in input order; URI parts come out as host, port, user, password, dbname
  std::optional<std::string> get(std::string_view key) const;  // last occurrence wins, as in libpq
};

struct DsnResult {
  std::optional<ParsedDsn> dsn;
  std::string error;  // set when dsn is empty; never contains the input text
};

DsnResult parse_dsn(std::string_view text);

// The DSN in key=value form with every secret replaced by "***"; safe for logs and errors.
std::string redact_dsn(std::string_view text);

// This machine's host name (gethostname), "localhost" when it has none.
std::string local_host_name();

// "host:port/dbname" with whatever the DSN names. A server on this machine (a Unix socket
// directory, no host at all, localhost or a loopback address) is named by `local_host`, this
// machine's name, so that the default target names of two hosts differ: "db1:5432/postgres", not
// "/var/run/postgresql:5432/postgres" everywhere. A DSN that names nothing is `local_host` alone
// (libpq's PG* defaults: the local socket).
std::string dsn_display_name(const ParsedDsn& dsn,
                             const std::string& local_host = local_host_name());

}  // namespace pgpulse::config
