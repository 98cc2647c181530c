#pragma once
// One pass over pg_stat_activity per poll, shared by every collector that needs it (connections,
// idle trends, long queries, locks, the xmin horizon, autovacuum workers).
#include <string>
#include <vector>

namespace pgpulse::pg {
class Result;
}

namespace pgpulse::collectors {

struct ActivityRow {
  int pid = 0;
  std::string datname;
  std::string usename;
  std::string application_name;
  std::string state;         // "" when NULL (background processes, or no privilege to see it)
  std::string backend_type;  // "client backend", "autovacuum worker", ...
  std::string wait_event_type;
  std::string wait_event;
  std::string query;  // truncated server-side; never used as a label
  // Where the session comes from: host(client_addr), "" for Unix sockets and background
  // processes; client_port -1 for a Unix socket. PgBouncer's server connections are matched on
  // these (and the pid) against SHOW SERVERS.
  std::string client_addr;
  int client_port = -1;
  // Seconds since the epoch on the server's clock; NaN when NULL.
  double backend_start = 0;
  double xact_start = 0;
  double query_start = 0;
  double state_change = 0;
  std::vector<int> blocked_by;  // pg_blocking_pids(), only for backends waiting on a lock
  bool is_self = false;         // pgpulse's own backends (kActivitySql says which)
  // Transactions since the backend's xmin or its own XID, the older (age()); -1 when it holds
  // neither: how far it holds back the horizon VACUUM may clean up to.
  long long xmin_age = -1;

  // Without pg_read_all_stats (pg_monitor) another role's session shows its role but a NULL
  // backend_type: still a client holding a slot. Background processes have no role.
  bool is_client() const {
    return backend_type == "client backend" || (backend_type.empty() && !usename.empty());
  }
};

struct ActivitySample {
  double server_now = 0;      // the server's clock when the sample was taken, epoch seconds
  double server_started = 0;  // pg_postmaster_start_time(): a change means the server restarted
  std::vector<ActivityRow> rows;
};

// The SQL and the row mapping, apart so tests can check the mapping against a real result.
extern const char* const kActivitySql;
ActivitySample parse_activity(const pg::Result& result);

}  // namespace pgpulse::collectors
