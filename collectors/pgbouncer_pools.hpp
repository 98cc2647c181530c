#pragma once
// PgBouncer's pools (SHOW POOLS, with SHOW DATABASES, SHOW USERS and SHOW CONFIG for their
// sizes): clients active and waiting, server connections by state, the oldest wait, each pool's
// saturation against its effective size, the per-database limits, and the budget of server
// connections PgBouncer may open against the linked PostgreSQL target's usable slots.
//
// Thread-safety: like every collector, called from its target's poller thread only.
#include <map>
#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/pgbouncer_limits.hpp"
#include "core/details/connections.hpp"
#include "core/details/pgbouncer.hpp"

namespace pgpulse::collectors {

// One SHOW POOLS row, whatever the version's column set.
struct PgBouncerPoolRow {
  std::string database;
  std::string user;
  std::string pool_mode;  // "" before 1.16
  long cl_active = 0;
  long cl_waiting = 0;
  long cl_active_cancel_req = 0;
  long cl_waiting_cancel_req = 0;  // cl_cancel_req before 1.18
  long sv_active = 0;              // with sv_active_cancel and sv_being_canceled (1.18+)
  long sv_idle = 0;
  long sv_used = 0;
  long sv_tested = 0;
  long sv_login = 0;
  double max_wait_seconds = 0;  // maxwait + maxwait_us
};

std::vector<PgBouncerPoolRow> parse_pgbouncer_pools(const ShowTable& pools);

struct PgBouncerPoolsSummary {
  std::vector<core::PgBouncerPool> pools;  // labels folded; the admin console's pool left out
  std::map<std::string, PgBouncerDatabaseLimits> databases;  // folded like the pools' database
  std::map<std::string, std::size_t> folded_values;
  core::PgBouncerPoolsDetails details;
};

// `server`: the linked PostgreSQL target's latest connections details, or nullptr (none linked,
// or it has published none yet): then the budget has no ratio.
PgBouncerPoolsSummary summarize_pgbouncer_pools(const std::vector<PgBouncerPoolRow>& rows,
                                                const PgBouncerLimits& limits,
                                                const std::string& server_name,
                                                const core::ConnectionsDetails* server,
                                                std::size_t label_limit);

Families pgbouncer_pool_families(const PgBouncerPoolsSummary& summary);

class PgBouncerPoolsCollector : public Collector {
 public:
  explicit PgBouncerPoolsCollector(std::string server) : server_(std::move(server)) {}
  CollectorOutput collect(PollContext& context) override;

 private:
  std::string server_;  // the linked postgres target; "" when none is named
};

}  // namespace pgpulse::collectors
