#include "collectors/server_settings.hpp"

#include "collectors/pg/connection.hpp"

namespace pgpulse::collectors {

// Settings and explicit limits in one round trip. reserved_connections exists from PostgreSQL 16.
const char* const kServerSettingsSql = R"SQL(
SELECT 'setting' AS kind, name, setting::bigint AS value FROM pg_settings
 WHERE name IN ('max_connections', 'superuser_reserved_connections', 'reserved_connections')
UNION ALL
SELECT 'database', datname, datconnlimit FROM pg_database WHERE datconnlimit >= 0 AND datallowconn
UNION ALL
SELECT 'role', rolname, rolconnlimit FROM pg_roles WHERE rolconnlimit >= 0 AND rolcanlogin)SQL";

ServerSettings parse_server_settings(const pg::Result& result) {
  ServerSettings settings;
  for (int r = 0; r < result.rows(); ++r) {
    std::string kind(result.text(r, 0));
    std::string name(result.text(r, 1));
    long value = static_cast<long>(result.integer(r, 2));
    if (kind == "setting") {
      if (name == "max_connections") settings.limits.max_connections = value;
      if (name == "superuser_reserved_connections") {
        settings.limits.superuser_reserved_connections = value;
      }
      if (name == "reserved_connections") settings.limits.reserved_connections = value;
    } else {
      settings.explicit_limits.push_back(ConnectionLimit{kind, name, value});
    }
  }
  return settings;
}

}  // namespace pgpulse::collectors
