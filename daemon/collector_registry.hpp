#pragma once
// The explicit table of collectors: name, default switch and interval, the target kinds it
// serves, and how to build one from its own config section. Adding a signal is one row here plus
// its file pair under collectors/ (and its typed details under core/details/ if it has readers).
#include <functional>
#include <memory>
#include <vector>

#include "collectors/collector.hpp"
#include "config/config.hpp"
#include "config/config_schema.hpp"

namespace pgpulse::daemon {

struct CollectorEntry {
  config::CollectorInfo info;
  std::vector<config::TargetKind> kinds;  // the target kinds it serves
  std::function<std::unique_ptr<collectors::Collector>(const config::Config&,
                                                       const config::TargetConfig&)>
      make;
  bool serves(config::TargetKind kind) const;
};

const std::vector<CollectorEntry>& collector_registry();
std::vector<config::CollectorInfo> collector_infos();

}  // namespace pgpulse::daemon
