#pragma once
// Connection counts and saturation: how close the server is to refusing new connections, overall
// (max_connections minus reserved slots) and per database and role limit.
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/server_settings.hpp"
#include "core/details/connections.hpp"

namespace pgpulse::collectors {

using core::LimitUsage;

struct ConnectionsSummary {
  // (datname, usename, application_name, state) -> client backends, labels already folded.
  std::map<std::tuple<std::string, std::string, std::string, std::string>, long> connections;
  std::map<std::string, std::size_t> folded_values;  // label -> distinct values folded
  long client_backends = 0;                          // including pgpulse's own: it holds a slot too
  ServerLimits limits;
  double saturation = 0;
  std::vector<LimitUsage> databases;
  std::vector<LimitUsage> roles;
};

// client / (max_connections - reserved); +Inf when no slot is usable at all.
double saturation_ratio(long client_backends, long max_connections, long reserved);

ConnectionsSummary summarize_connections(const ActivitySample& sample, const ServerLimits& limits,
                                         const std::vector<ConnectionLimit>& explicit_limits,
                                         std::size_t label_limit);

Families connection_families(const ConnectionsSummary& summary);
// The numbers /diagnose and `pgpulse check` reason about: saturation, who holds the connections,
// limits close to being hit.
core::ConnectionsDetails connections_details(const ConnectionsSummary& summary);

class ConnectionsCollector : public Collector {
 public:
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
