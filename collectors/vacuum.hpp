#pragma once
// The `vacuum` collector, per database (visited with rls on the same per-database visit): the
// tables with the most dead tuples and the tables with dead tuples that went longest without a
// vacuum, top vacuum.top_n (20) of each per database, at most vacuum.max_table_series tables per
// target. A database that cannot be read is reported (failed_parts, its scan_success 0), never
// left out as if clean.
#include <map>
#include <string>
#include <vector>

#include "collectors/database_collector.hpp"
#include "config/config.hpp"
#include "core/details/vacuum.hpp"

namespace pgpulse::collectors {

struct VacuumRow {
  std::string schema, table;
  long long live = 0, dead = 0;
  double last_vacuum = 0;  // epoch seconds of the last vacuum (auto or manual), NaN when never
};

double dead_tuple_ratio(long long live, long long dead);

// The union of the top_n tables by dead tuples and the top_n tables with dead tuples by time
// since their last vacuum (never vacuumed first), most dead tuples first.
std::vector<core::VacuumTable> select_vacuum_tables(const std::string& datname,
                                                    const std::vector<VacuumRow>& rows,
                                                    std::size_t top_n, double now);

// $1: top_n. The same two rankings, so that only candidates leave the server.
extern const char* const kVacuumTablesSql;

Families vacuum_families(const core::VacuumDetails& details, std::size_t max_table_series);

// Thread-safety: as every DatabaseCollector (one scanner thread: begin_scan, visits, end_scan).
// Ownership: owns the scan in progress; keeps nothing from one scan to the next.
class VacuumCollector : public DatabaseCollector {
 public:
  explicit VacuumCollector(const config::VacuumConfig& options) : options_(options) {}
  void begin_scan(VisitContext& home) override;
  bool wants(const std::string& datname) const override { return !datname.empty(); }
  void visit(VisitContext& database) override;
  void visit_failed(const std::string& datname, const std::string& reason) override;
  CollectorOutput end_scan(std::size_t label_limit) override;
  std::size_t failed_parts() const override;

 private:
  config::VacuumConfig options_;
  core::VacuumDetails scan_;  // the scan in progress
};

}  // namespace pgpulse::collectors
