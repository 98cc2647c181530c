#pragma once
// What the pgbouncer collectors tell their readers (/diagnose, `pgpulse check`, the status page):
// each pool's clients, servers, wait and saturation; the server connections PgBouncer may open
// against the linked PostgreSQL target's slots; client connections against max_client_conn; the
// server connections it holds (SHOW SERVERS); and, on the PostgreSQL target, which of its
// backends belong to a PgBouncer pool.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgpulse::core {

struct PgBouncerPool {
  std::string database;  // PgBouncer's database name (its [databases] entry), folded
  std::string user;      // folded
  std::string pool_mode;
  long clients_active = 0;
  long clients_waiting = 0;  // sent a query, no server connection yet
  long servers_active = 0;   // linked to a client (including those being canceled)
  long servers_idle = 0;
  long servers_used = 0;
  long servers_tested = 0;
  long servers_login = 0;
  long size = 0;     // effective: pool_size, or max_db_connections / max_user_connections if lower
  long reserve = 0;  // reserve_pool: extra connections after reserve_pool_timeout
  double max_wait_seconds = 0;  // the oldest waiting client's wait
  double saturation = 0;        // servers_active / size; +Inf (JSON null) for a size of 0 in use
};

struct PgBouncerPoolsDetails {
  std::vector<PgBouncerPool> pools;  // most clients waiting first, then the fullest
  long clients_waiting = 0;
  double max_wait_seconds = 0;
  long default_pool_size = 0;
  // The budget against the linked server: the most server connections PgBouncer may open for its
  // pools (effective size + reserve each, capped by max_db_connections / max_user_connections),
  // and the server's max_connections - reserved from its connections collector.
  std::string server;         // the linked postgres target; "" when none is named
  bool server_known = false;  // the server's connection data was there to compare with
  long server_budget = 0;
  long server_usable_connections = 0;
  double server_budget_ratio = 0;  // server_budget / usable; +Inf (JSON null) when none usable
};

struct PgBouncerClientsDetails {
  long client_connections = 0;  // SHOW LISTS used_clients (login_clients included)
  long max_client_conn = 0;
  double ratio = 0;  // client_connections / max_client_conn
};

// One server connection of PgBouncer (SHOW SERVERS): how its PostgreSQL backend is found in
// pg_stat_activity.
struct PgBouncerServerConnection {
  std::string database;  // PgBouncer's pool, not folded: matched, not a label
  std::string user;
  std::string state;  // active, idle, used, tested, new
  std::string local_addr;
  int local_port = 0;
  int remote_pid = 0;  // the backend's pid on the server
};

struct PgBouncerServersDetails {
  std::vector<PgBouncerServerConnection> servers;
};

// On the PostgreSQL target: the client backends that belong to a PgBouncer's pool, apart from
// the direct ones.
struct PgBouncerPoolBackends {
  std::string pgbouncer;  // the pgbouncer target's name
  std::string database;   // its pool
  std::string user;
  long backends = 0;
  long idle = 0;
  long idle_in_transaction = 0;
  long active = 0;
};

struct PgBouncerBackend {
  int pid = 0;
  std::string via;  // "pgbouncer <target> pool <database>/<user>"
};

struct PgBouncerBackendsDetails {
  long direct_clients = 0;  // client backends no linked PgBouncer holds, pgpulse's own excluded
  long pgbouncer_backends = 0;
  std::vector<PgBouncerPoolBackends> pools;
  std::vector<PgBouncerBackend> backends;  // every matched backend, for the findings by pid
  std::vector<std::string> pgbouncers_without_data;  // linked, but no SHOW SERVERS data yet

  // "through pgbouncer X pool db/user" for a backend pid, or "".
  std::string via(int pid) const {
    for (const auto& b : backends) {
      if (b.pid == pid) return b.via;
    }
    return "";
  }
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PgBouncerPool, database, user, pool_mode, clients_active,
                                   clients_waiting, servers_active, servers_idle, servers_used,
                                   servers_tested, servers_login, size, reserve, max_wait_seconds,
                                   saturation)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PgBouncerPoolsDetails, pools, clients_waiting, max_wait_seconds,
                                   default_pool_size, server, server_known, server_budget,
                                   server_usable_connections, server_budget_ratio)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PgBouncerClientsDetails, client_connections, max_client_conn,
                                   ratio)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PgBouncerServerConnection, database, user, state, local_addr,
                                   local_port, remote_pid)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PgBouncerServersDetails, servers)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PgBouncerPoolBackends, pgbouncer, database, user, backends, idle,
                                   idle_in_transaction, active)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PgBouncerBackend, pid, via)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PgBouncerBackendsDetails, direct_clients, pgbouncer_backends,
                                   pools, backends, pgbouncers_without_data)

}  // namespace pgpulse::core
