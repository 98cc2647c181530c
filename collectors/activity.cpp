#include "collectors/activity.hpp"

#include <cmath>
#include <cstdlib>

#include "collectors/pg/connection.hpp"

namespace pgpulse::collectors {

// pg_blocking_pids() is costly, so it runs only for backends that wait on a heavyweight lock.
// date_part() returns float8 directly; extract() returns numeric since PostgreSQL 14 and the
// numeric-to-float8 casts cost a third of the query's server CPU at 1,000 backends.
// xmin_age is how far the backend holds the xmin horizon back (the horizon collector): its
// snapshot's xmin or its own transaction ID, whichever is older; greatest() skips a NULL.
// is_self is pgpulse itself: this connection and its short per-database visits (the RLS and
// table scans, application_name pgpulse-catalog), which a poll may catch mid-query; they hold
// slots (counted as such) but are not the application's queries, idle time or blockers.
const char* const kActivitySql = R"SQL(
SELECT pid, datname, usename, application_name, state, backend_type,
       wait_event_type, wait_event, host(client_addr) AS client_addr, client_port,
       date_part('epoch', backend_start) AS backend_start,
       date_part('epoch', xact_start) AS xact_start,
       date_part('epoch', query_start) AS query_start,
       date_part('epoch', state_change) AS state_change,
       CASE WHEN wait_event_type = 'Lock' THEN array_to_string(pg_blocking_pids(pid), ',') END
         AS blocked_by,
       left(query, 2048) AS query,
       date_part('epoch', statement_timestamp()) AS server_now,
       coalesce(pid = pg_backend_pid()
                OR (usename = current_user AND application_name = 'pgpulse-catalog'), false)
         AS is_self,
       date_part('epoch', pg_postmaster_start_time()) AS server_started,
       greatest(age(backend_xmin), age(backend_xid)) AS xmin_age
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
  sample.rows.reserve(static_cast<std::size_t>(result.rows()));
  const double nan = std::nan("");
  // By name, once per result: the columns must not depend on the order of the SELECT list.
  const int pid = result.column_index("pid"), datname = result.column_index("datname"),
            usename = result.column_index("usename"),
            application_name = result.column_index("application_name"),
            state = result.column_index("state"),
            backend_type = result.column_index("backend_type"),
            wait_event_type = result.column_index("wait_event_type"),
            wait_event = result.column_index("wait_event"),
            client_addr = result.column_index("client_addr"),
            client_port = result.column_index("client_port"),
            backend_start = result.column_index("backend_start"),
            xact_start = result.column_index("xact_start"),
            query_start = result.column_index("query_start"),
            state_change = result.column_index("state_change"),
            blocked_by = result.column_index("blocked_by"), query = result.column_index("query"),
            server_now = result.column_index("server_now"),
            is_self = result.column_index("is_self"),
            server_started = result.column_index("server_started"),
            xmin_age = result.column_index("xmin_age");
  for (int r = 0; r < result.rows(); ++r) {
    ActivityRow row;
    row.pid = static_cast<int>(result.integer(r, pid));
    row.datname = result.text(r, datname);
    row.usename = result.text(r, usename);
    row.application_name = result.text(r, application_name);
    row.state = result.text(r, state);
    row.backend_type = result.text(r, backend_type);
    row.wait_event_type = result.text(r, wait_event_type);
    row.wait_event = result.text(r, wait_event);
    row.client_addr = result.text(r, client_addr);
    row.client_port = static_cast<int>(result.integer(r, client_port, -1));
    row.backend_start = result.number(r, backend_start, nan);
    row.xact_start = result.number(r, xact_start, nan);
    row.query_start = result.number(r, query_start, nan);
    row.state_change = result.number(r, state_change, nan);
    row.blocked_by = parse_pid_list(result.text(r, blocked_by));
    row.query = result.text(r, query);
    sample.server_now = result.number(r, server_now);
    row.is_self = result.boolean(r, is_self);
    sample.server_started = result.number(r, server_started);
    row.xmin_age = result.integer(r, xmin_age, -1);
    sample.rows.push_back(std::move(row));
  }
  return sample;
}

}  // namespace pgpulse::collectors
