#pragma once
// The explicit table of collectors: name, default switch and interval, and how to build one.
// Adding a signal is one row here plus its file pair under collectors/.
#include <functional>
#include <memory>
#include <vector>

#include "collectors/collector.hpp"
#include "config/config.hpp"
#include "config/config_schema.hpp"

namespace pgpulse::daemon {

struct CollectorEntry {
  config::CollectorInfo info;
  std::function<std::unique_ptr<collectors::Collector>(const config::Config&,
                                                       const config::TargetConfig&)>
      make;
};

const std::vector<CollectorEntry>& collector_registry();
std::vector<config::CollectorInfo> collector_infos();

}  // namespace pgpulse::daemon
