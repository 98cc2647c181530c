#include "collectors/server_settings.hpp"

#include "collectors/pg/connection.hpp"

namespace pgpulse::collectors {

// Settings and explicit limits in one round trip (the autovacuum collector's limit too).
// reserved_connections exists from PostgreSQL 16. current_setting(name, true) rather than the
// pg_settings view, which builds all ~350 settings on every call (1.5 ms of server time per poll,
// most of an idle server's poll).
const char* const kServerSettingsSql = R"SQL(
SELECT 'setting' AS kind, name, current_setting(name, true)::bigint AS value
  FROM unnest(ARRAY['max_connections', 'superuser_reserved_connections',
                    'reserved_connections', 'autovacuum_max_workers']) AS name
 WHERE current_setting(name, true) IS NOT NULL
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
      if (name == "autovacuum_max_workers") settings.autovacuum_max_workers = value;
    } else {
      settings.explicit_limits.push_back(ConnectionLimit{kind, name, value});
    }
  }
  return settings;
}

}  // namespace pgpulse::collectors
