#pragma once
// What the vacuum collector's per-database visits tell their readers: the tables with the most
// dead tuples and the longest without a vacuum, and how the visit of each database went.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/details/rls.hpp"
#include "core/json.hpp"

namespace pgpulse::core {

struct VacuumTable {
  std::string datname, schema, table;
  long long dead_tuples = 0, live_tuples = 0;
  double dead_tuple_ratio = 0;  // dead / (live + dead); 0 for an empty table
  // Since the last vacuum, by autovacuum or by hand; null when never since the statistics reset.
  std::optional<double> last_vacuum_age_seconds;
};

struct VacuumDetails {
  std::vector<VacuumTable> tables;      // the worst first (most dead tuples)
  std::vector<DatabaseScan> databases;  // per database: visited or why not
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(VacuumTable, datname, schema, table, dead_tuples, live_tuples,
                                   dead_tuple_ratio, last_vacuum_age_seconds)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(VacuumDetails, tables, databases)

}  // namespace pgpulse::core
