#pragma once
// The hand-off between collector threads and the HTTP exporter. Collectors publish immutable
// snapshots; readers take shared pointers under a short lock and never wait on a database.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "collectors/exposition.hpp"

namespace pgpulse::collectors {

struct Snapshot {
  std::string target;     // "" for process-wide metrics
  std::string collector;  // registry name, or "health" / "process"
  std::chrono::system_clock::time_point taken_at;
  std::vector<RenderedFamily> families;
  nlohmann::json details;  // structured data for /activity, /readyz and friends; null when none
};

class SnapshotStore {
 public:
  struct View {
    std::uint64_t generation = 0;                            // changes whenever any snapshot does
    std::vector<std::shared_ptr<const Snapshot>> snapshots;  // ordered by (target, collector)
  };

  void publish(std::shared_ptr<const Snapshot> snapshot);
  void remove(const std::string& target, const std::string& collector);
  void remove_target(const std::string& target);
  View view() const;
  std::uint64_t generation() const;
  std::shared_ptr<const Snapshot> find(const std::string& target,
                                       const std::string& collector) const;

 private:
  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const Snapshot>> snapshots_;
};

}  // namespace pgpulse::collectors
