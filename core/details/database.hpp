#pragma once
// What the database collector tells its readers: how close each database is to transaction ID
// (and multixact) wraparound, worst first, and the cluster's worst ratio. Shape of /diagnose's
// "wraparound" step.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgpulse::core {

struct DatabaseAge {
  std::string datname;     // the real name, not folded: /diagnose names the database to vacuum
  long long xid_age = 0;   // age(datfrozenxid)
  long long mxid_age = 0;  // mxid_age(datminmxid)
};

struct DatabaseDetails {
  // The worst database's age(datfrozenxid) / 2^31: at 1 the server stops assigning XIDs.
  double xid_wraparound_ratio = 0;
  double mxid_wraparound_ratio = 0;  // likewise for multixact IDs
  std::vector<DatabaseAge> oldest;   // at most 5, the oldest (by either age) first
  long long deadlocks = 0;           // cumulative, all databases together
  long long xact_commits = 0;
  long long xact_rollbacks = 0;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DatabaseAge, datname, xid_age, mxid_age)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DatabaseDetails, xid_wraparound_ratio, mxid_wraparound_ratio,
                                   oldest, deadlocks, xact_commits, xact_rollbacks)

}  // namespace pgpulse::core
