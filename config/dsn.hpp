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

// "host:port/dbname" with whatever the DSN names; "default" when it names nothing (libpq's PG*
// defaults).
std::string dsn_display_name(const ParsedDsn& dsn);

}  // namespace pgpulse::config
