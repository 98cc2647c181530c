#pragma once
// What the connections collector tells its readers: saturation, who holds the slots, limits
// close to being hit. Shape of /diagnose's inputs and of the status page's saturation row.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgpulse::core {

struct NamedCount {
  std::string name;
  long connections = 0;
};

struct LimitUsage {
  std::string name;  // database or role
  long limit = 0;
  long connections = 0;
  double ratio = 0;  // connections / limit; +Inf (JSON null) for a limit of 0 in use
};

struct ConnectionsDetails {
  long client_backends = 0;  // pgpulse's own included: it holds a slot too
  long max_connections = 0;
  long reserved_connections = 0;
  long usable_connections = 0;  // max_connections - reserved
  double saturation = 0;        // client_backends / usable; +Inf (JSON null) when none is usable
  std::map<std::string, long> by_state;
  std::vector<NamedCount> top_applications;  // at most 5, most connections first
  std::vector<NamedCount> top_users;
  std::vector<LimitUsage> database_limits;  // datconnlimit where set, closest to its limit first
  std::vector<LimitUsage> role_limits;      // rolconnlimit likewise
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(NamedCount, name, connections)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LimitUsage, name, limit, connections, ratio)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ConnectionsDetails, client_backends, max_connections,
                                   reserved_connections, usable_connections, saturation, by_state,
                                   top_applications, top_users, database_limits, role_limits)

}  // namespace pgpulse::core
