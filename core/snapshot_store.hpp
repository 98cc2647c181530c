#pragma once
// The hand-off between collector threads and the HTTP exporter. Collectors publish immutable
// snapshots; readers take shared pointers under a short lock and never wait on a database.
//
// Thread-safety: every member function may be called from any thread. Ownership: snapshots are
// shared (shared_ptr<const Snapshot>); a reader's View keeps the ones it took alive.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/details.hpp"
#include "core/exposition.hpp"

namespace pgpulse::core {

struct Snapshot {
  std::string target;     // "" for process-wide metrics
  std::string collector;  // registry name, or "health" / "process"
  std::chrono::system_clock::time_point taken_at;
  std::vector<RenderedFamily> families;
  DetailsPtr details;  // the collector's typed details (core/details/); null when none

  template <class T>
  const T* details_as() const {
    return core::details_as<T>(details.get());
  }
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

 private:
  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const Snapshot>> snapshots_;
};

}  // namespace pgpulse::core
