#include "daemon/collector_registry.hpp"

#include "collectors/connections.hpp"

namespace pgpulse::daemon {

const std::vector<CollectorEntry>& collector_registry() {
  static const std::vector<CollectorEntry> registry{
      {{"connections", true, config::Millis{0},
        "connection counts by database/role/application/state, saturation and limits"},
       [](const config::Config&) { return std::make_unique<collectors::ConnectionsCollector>(); }},
  };
  return registry;
}

std::vector<config::CollectorInfo> collector_infos() {
  std::vector<config::CollectorInfo> infos;
  for (const auto& entry : collector_registry()) infos.push_back(entry.info);
  return infos;
}

}  // namespace pgpulse::daemon
