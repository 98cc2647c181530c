#pragma once
// What the horizon collector tells its readers: who holds the xmin horizon back (the oldest
// transaction ID VACUUM must keep row versions for), the oldest holder of each kind, named. Shape
// of /diagnose's "horizon" step.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace pgpulse::core {

struct HorizonHolder {
  // backend, idle_in_transaction, replication_slot, prepared_transaction or standby_feedback
  std::string holder;
  std::string name;  // application_name (backends, standbys), slot name, or the prepared gid
  int pid = 0;       // 0 for a slot without a process, and for a prepared transaction
  std::string datname, usename;
  long long xid_age = 0;          // transactions the horizon is held back by
  std::optional<double> seconds;  // how long (transaction or prepare age), where known
};

struct HorizonDetails {
  std::vector<HorizonHolder> holders;  // the oldest holder of each kind present, oldest first
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(HorizonHolder, holder, name, pid, datname, usename, xid_age,
                                   seconds)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(HorizonDetails, holders)

}  // namespace pgpulse::core
