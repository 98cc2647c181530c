#include "collectors/activity.hpp"

#include <cmath>
#include <cstdlib>

#include "collectors/pg/connection.hpp"

namespace pgpulse::collectors {

// pg_blocking_pids() is costly, so it runs only for backends that wait on a heavyweight lock.
// date_part() returns float8 directly; extract() returns numeric since PostgreSQL 14 and the
// numeric-to-float8 casts cost a third of the query's server CPU at 1,000 backends.
const char* const kActivitySql = R"SQL(
SELECT pid, datname, usename, application_name, state, backend_type,
       wait_event_type, wait_event,
       date_part('epoch', backend_start) AS backend_start,
       date_part('epoch', xact_start) AS xact_start,
       date_part('epoch', query_start) AS query_start,
       date_part('epoch', state_change) AS state_change,
       CASE WHEN wait_event_type = 'Lock' THEN array_to_string(pg_blocking_pids(pid), ',') END
         AS blocked_by,
       left(query, 2048) AS query,
       date_part('epoch', statement_timestamp()) AS server_now,
       pid = pg_backend_pid() AS is_self,
       date_part('epoch', pg_postmaster_start_time()) AS server_started
FROM pg_stat_activity)SQL";

namespace {
std::vector<int> parse_pid_list(std::string_view text) {
  std::vector<int> pids;
  std::string item;
  for (char c : text) {
    if (c == ',') {
      if (!item.empty()) pids.push_back(std::atoi(item.c_str()));
      item.clear();
    } else {
      item.push_back(c);
    }
  }
  if (!item.empty()) pids.push_back(std::atoi(item.c_str()));
  return pids;
}
}  // namespace

ActivitySample parse_activity(const pg::Result& result) {
  ActivitySample sample;
  sample.rows.reserve(result.rows());
  const double nan = std::nan("");
  for (int r = 0; r < result.rows(); ++r) {
    ActivityRow row;
    row.pid = static_cast<int>(result.integer(r, 0));
    row.datname = result.text(r, 1);
    row.usename = result.text(r, 2);
    row.application_name = result.text(r, 3);
    row.state = result.text(r, 4);
    row.backend_type = result.text(r, 5);
    row.wait_event_type = result.text(r, 6);
    row.wait_event = result.text(r, 7);
    row.backend_start = result.number(r, 8, nan);
    row.xact_start = result.number(r, 9, nan);
    row.query_start = result.number(r, 10, nan);
    row.state_change = result.number(r, 11, nan);
    row.blocked_by = parse_pid_list(result.text(r, 12));
    row.query = result.text(r, 13);
    sample.server_now = result.number(r, 14);
    row.is_self = result.boolean(r, 15);
    sample.server_started = result.number(r, 16);
    sample.rows.push_back(std::move(row));
  }
  return sample;
}

}  // namespace pgpulse::collectors
