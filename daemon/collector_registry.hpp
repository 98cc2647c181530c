#pragma once
// The explicit table of collectors: name, default switch and interval, the target kinds it
// serves, and how to build one from its own config section. Adding a signal is one row here plus
// its file pair under collectors/ (and its typed details under core/details/ if it has readers).
#include <functional>
#include <memory>
#include <variant>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/database_collector.hpp"
#include "config/config.hpp"
#include "config/config_schema.hpp"

namespace pgpulse::daemon {

// A collector polled on the target's connection, or one visited per database by the scanner.
using AnyCollector = std::variant<std::unique_ptr<collectors::Collector>,
                                  std::unique_ptr<collectors::DatabaseCollector>>;

struct CollectorEntry {
  config::CollectorInfo info;
  std::vector<config::TargetKind> kinds;  // the target kinds it serves
  std::function<AnyCollector(const config::Config&, const config::TargetConfig&)> make;
  bool serves(config::TargetKind kind) const;
};

const std::vector<CollectorEntry>& collector_registry();
// The targets linked to `target` by targets[].server: a pgbouncer target's server, or the
// pgbouncer targets that name a postgres target. Their published snapshots are what the
// target's collectors may read of them (PollContext::linked_targets).
std::vector<std::string> linked_target_names(const config::TargetConfig& target,
                                             const config::Config& config);
std::vector<config::CollectorInfo> collector_infos();

}  // namespace pgpulse::daemon
