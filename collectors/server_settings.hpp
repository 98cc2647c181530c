#pragma once
// Connection limits of the server, read once per poll and shared by the collectors that need
// them (connections, idle trend forecast, pool budgets, autovacuum workers).
#include <string>
#include <vector>

namespace pgpulse::pg {
class Result;
}

namespace pgpulse::collectors {

struct ServerLimits {
  long max_connections = 0;
  long superuser_reserved_connections = 0;
  long reserved_connections = 0;  // PostgreSQL 16+, else 0
  long reserved() const { return superuser_reserved_connections + reserved_connections; }
  long usable() const { return max_connections - reserved(); }
};

struct ConnectionLimit {
  std::string kind;  // "database" or "role"
  std::string name;
  long limit = 0;
};

struct ServerSettings {
  ServerLimits limits;
  std::vector<ConnectionLimit> explicit_limits;  // datconnlimit / rolconnlimit where set
  long autovacuum_max_workers = 0;
};

extern const char* const kServerSettingsSql;
ServerSettings parse_server_settings(const pg::Result& result);

}  // namespace pgpulse::collectors
